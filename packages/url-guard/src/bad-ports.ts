/**
 * The ports that `fetch` refuses (the Fetch standard's "bad port" list, which Node's undici
 * enforces): a request to one fails with "bad port" before any connection is made, so the guard
 * refuses them up front.
 *
 * @module
 */

/**
 * Ports that `fetch` never connects to (Fetch standard §2.9 "port blocking", as enforced by
 * undici's `badPorts`): mostly well-known non-HTTP services (SSH, SMTP, IRC, X11, …) that a
 * browser-style request could be abused against. The guard refuses them with the reason
 * `bad-port`, whatever `allowedPorts` says, since `fetch` could not reach them anyway. A URL
 * without a port uses its scheme's default (443 or 80), which is never a bad port. Port 0 is
 * on the list too; the guard refuses it with the reason `port`.
 *
 * @example
 * ```ts
 * FETCH_BAD_PORTS.includes(6000); // true (X11)
 * FETCH_BAD_PORTS.includes(8080); // false
 * ```
 */
export const FETCH_BAD_PORTS: readonly number[] = Object.freeze([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
  103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
  512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
  995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
  6669, 6679, 6697, 10080,
]);

const BAD_PORTS: ReadonlySet<number> = new Set(FETCH_BAD_PORTS);

/** @internal Whether `fetch` refuses to connect to `port`. */
export function isBadPort(port: number): boolean {
  return BAD_PORTS.has(port);
}
