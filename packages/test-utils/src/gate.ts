/**
 * A promise the test opens by hand: to hold a server's answer, a store call or a worker until the
 * test says so.
 *
 * @module
 */

/** A promise with its resolve function. */
export interface Gate {
  /** Settles (fulfilled, no value) once {@link Gate.open} is called. */
  readonly promise: Promise<void>;
  /** Opens the gate; later calls do nothing. */
  open(): void;
}

/**
 * Creates a closed {@link Gate}.
 *
 * @returns the gate
 * @example
 * ```ts
 * const hold = gate();
 * const server = await startHttpServer(async (_req, res) => {
 *   await hold.promise;
 *   res.end('ok');
 * });
 * hold.open(); // every waiting request answers now
 * ```
 */
export function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
