// Cancellation plumbing: how the retrier's cancel(), the caller's signal and the deadlines reach
// a running attempt or a pending wait, without leaking listeners or timers.
//
// Node 20 pays ~5 µs to create an AbortSignal and warns when more than 10 listeners sit on one,
// so nothing here allocates a signal unless an attempt reads `context.signal`, and the retrier
// reaches its in-flight work through a Set rather than through listeners on its own signal.

import { RetryDeadlineError } from './errors.js';
import { Timer } from './sleep.js';
import type { AttemptContext, Clock } from './types.js';

const INF = Number.POSITIVE_INFINITY;

/** Something in flight that the retrier's `cancel()` must reach. */
export interface Cancellable {
  cancelFromRetrier(reason: unknown): void;
}

/** The retrier's lifecycle: terminal cancellation plus the set of in-flight waits and links. */
export class Lifecycle {
  cancelled = false;
  reason: unknown;
  readonly #active = new Set<Cancellable>();

  track(item: Cancellable): void {
    this.#active.add(item);
  }

  untrack(item: Cancellable): void {
    this.#active.delete(item);
  }

  /** In-flight links and waits (for tests and leak checks). */
  get activeCount(): number {
    return this.#active.size;
  }

  cancel(reason: unknown): boolean {
    if (this.cancelled) return false;
    this.cancelled = true;
    this.reason = reason;
    for (const item of [...this.#active]) item.cancelFromRetrier(reason);
    this.#active.clear();
    return true;
  }
}

/** What aborted a link. */
export type AbortKind = 'stopped' | 'aborted' | 'timeout' | 'attempt-timeout';

/** Per-call facts the links need. */
export interface CallEnv {
  readonly life: Lifecycle;
  readonly callerSignal: AbortSignal | undefined;
  readonly clock: Clock;
  /** Absolute time of the total deadline, or Infinity. */
  readonly deadline: number;
  readonly timeout: number;
  readonly attemptTimeout: number;
}

/**
 * An AbortController tied to the retrier's lifecycle, the caller's signal and (optionally) one
 * deadline. `release()` removes every listener and timer; it never aborts the signal.
 */
export class Link implements Cancellable {
  readonly controller: AbortController = new AbortController();
  kind: AbortKind | undefined;
  readonly #env: CallEnv;
  #timer: Timer | undefined;
  #attached = false;

  /**
   * @param env - the call.
   * @param expiresAt - absolute time when the link aborts on its own (Infinity: never).
   * @param attemptDeadline - the attempt's own deadline, to tell the two timeouts apart.
   */
  constructor(env: CallEnv, expiresAt: number, attemptDeadline: number) {
    this.#env = env;
    const { life, callerSignal } = env;
    if (life.cancelled) {
      this.#abort('stopped', life.reason);
      return;
    }
    if (callerSignal?.aborted) {
      this.#abort('aborted', callerSignal.reason);
      return;
    }
    life.track(this);
    callerSignal?.addEventListener('abort', this);
    this.#attached = true;
    if (expiresAt !== INF) {
      const total = env.deadline <= attemptDeadline;
      const fire = (): void => {
        this.#timer = undefined;
        if (total) this.#abort('timeout', new RetryDeadlineError('total', env.timeout));
        else this.#abort('attempt-timeout', new RetryDeadlineError('attempt', env.attemptTimeout));
      };
      const left = expiresAt - env.clock.now();
      if (left <= 0) fire();
      else this.#timer = new Timer(left, fire);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The caller's signal aborted (EventListener object form: no closure needed). */
  handleEvent(): void {
    this.#abort('aborted', this.#env.callerSignal?.reason);
  }

  cancelFromRetrier(reason: unknown): void {
    this.#abort('stopped', reason);
  }

  #abort(kind: AbortKind, reason: unknown): void {
    if (this.kind !== undefined) return;
    this.kind = kind;
    this.release();
    this.controller.abort(reason);
  }

  release(): void {
    if (this.#timer !== undefined) {
      this.#timer.clear();
      this.#timer = undefined;
    }
    if (this.#attached) {
      this.#attached = false;
      this.#env.life.untrack(this);
      this.#env.callerSignal?.removeEventListener('abort', this);
    }
  }
}

let neverAborted: AbortSignal | undefined;

/**
 * The context given to an attempt. `signal` is built on first read; until then the attempt costs
 * one small object. `release()` is called when the attempt settles.
 */
export class AttemptContextImpl implements AttemptContext {
  readonly attempt: number;
  readonly #env: CallEnv;
  readonly #attemptDeadline: number;
  /**
   * One field for the whole lifecycle (fewer fields make the fast path cheaper):
   * `undefined` while running with no signal read, the attempt's promise once the fast path
   * handed it over, the `Link` once the signal was read, or `true` once released unread.
   */
  #state: PromiseLike<unknown> | Link | true | undefined;

  constructor(env: CallEnv, attempt: number, attemptDeadline: number) {
    this.#env = env;
    this.attempt = attempt;
    this.#attemptDeadline = attemptDeadline;
  }

  get signal(): AbortSignal {
    const state = this.#state;
    if (state instanceof Link) return state.signal;
    if (state === true) {
      // Read after the attempt settled (a stored context): it shows whether the retrier was
      // cancelled, whichever way the call was made, and nothing aborts it later.
      const life = this.#env.life;
      if (life.cancelled) return AbortSignal.abort(life.reason);
      neverAborted ??= new AbortController().signal;
      return neverAborted;
    }
    const env = this.#env;
    const link = new Link(
      env,
      Math.min(env.deadline, this.#attemptDeadline),
      this.#attemptDeadline,
    );
    this.#state = link;
    // Read after the fast path handed the attempt's promise over: release when it settles.
    if (state !== undefined) {
      const release = (): void => link.release();
      state.then(release, release);
    }
    return link.signal;
  }

  /** What aborted the attempt's signal, if it was read and aborted. */
  get abortKind(): AbortKind | undefined {
    const state = this.#state;
    return state instanceof Link ? state.kind : undefined;
  }

  /** The call this attempt belongs to. */
  get env(): CallEnv {
    return this.#env;
  }

  /** Absolute time of this attempt's own timeout, or Infinity. */
  get attemptDeadline(): number {
    return this.#attemptDeadline;
  }

  /**
   * Fast path: the attempt returned `promise`; release the link when it settles (now, if the
   * signal was already read, or later from the getter).
   */
  releaseWhenSettled(promise: PromiseLike<unknown>): void {
    const state = this.#state;
    if (state === undefined) {
      this.#state = promise;
    } else if (state instanceof Link) {
      const release = (): void => state.release();
      promise.then(release, release);
    }
  }

  /** The attempt settled: detach its signal (never aborting it). */
  release(): void {
    const state = this.#state;
    if (state instanceof Link) state.release();
    else this.#state = true;
  }
}

/**
 * The built-in wait between attempts: a timer that the retrier's `cancel()` and the caller's
 * signal end early. Resolves in every case; the retrier checks why afterwards.
 */
export class Waiter implements Cancellable {
  readonly promise: Promise<void>;
  readonly #env: CallEnv;
  #resolve: (() => void) | undefined;
  #timer: Timer | undefined;

  constructor(env: CallEnv, ms: number, unref: boolean) {
    this.#env = env;
    let resolve!: () => void;
    this.promise = new Promise<void>((r) => {
      resolve = r;
    });
    if (env.life.cancelled || env.callerSignal?.aborted) {
      resolve();
      return;
    }
    this.#resolve = resolve;
    env.life.track(this);
    env.callerSignal?.addEventListener('abort', this);
    this.#timer = new Timer(
      ms,
      () => {
        this.#timer = undefined;
        this.#wake();
      },
      unref,
    );
  }

  handleEvent(): void {
    this.#wake();
  }

  cancelFromRetrier(): void {
    this.#wake();
  }

  #wake(): void {
    const resolve = this.#resolve;
    if (resolve === undefined) return;
    this.#resolve = undefined;
    this.#timer?.clear();
    this.#timer = undefined;
    this.#env.life.untrack(this);
    this.#env.callerSignal?.removeEventListener('abort', this);
    resolve();
  }
}
