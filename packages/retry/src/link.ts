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
 * Something tied to a call: it ends when the retrier is cancelled, when the caller's signal
 * aborts, or when its own time is up; at once if the call is already over. `release()` removes
 * its listener, timer and tracking without ending it.
 */
class Tie implements Cancellable {
  readonly env: CallEnv;
  #timer: Timer | undefined;
  #attached = false;

  constructor(env: CallEnv) {
    this.env = env;
  }

  /**
   * Ties this to the call.
   * @returns `false` when the call was already over (then this has ended).
   */
  protected attach(): boolean {
    const { life, callerSignal } = this.env;
    if (life.cancelled) this.end('stopped', life.reason);
    else if (callerSignal?.aborted) this.end('aborted', callerSignal.reason);
    else {
      life.track(this);
      callerSignal?.addEventListener('abort', this);
      this.#attached = true;
    }
    return this.#attached;
  }

  /** Calls `onTime` after `ms` (at once when `ms` <= 0), unless released first. */
  protected arm(ms: number, onTime: () => void, unref?: boolean): void {
    if (ms <= 0) onTime();
    else {
      this.#timer = new Timer(
        ms,
        () => {
          this.#timer = undefined;
          onTime();
        },
        unref,
      );
    }
  }

  /** The caller's signal aborted (EventListener object form: no closure needed). */
  handleEvent(): void {
    this.end('aborted', this.env.callerSignal?.reason);
  }

  cancelFromRetrier(reason: unknown): void {
    this.end('stopped', reason);
  }

  /** Ends it (once): the subclass aborts or resolves. */
  protected end(_kind: AbortKind, _reason: unknown): void {}

  release(): void {
    this.#timer?.clear();
    this.#timer = undefined;
    if (this.#attached) {
      this.#attached = false;
      this.env.life.untrack(this);
      this.env.callerSignal?.removeEventListener('abort', this);
    }
  }
}

/**
 * An AbortController tied to the retrier's lifecycle, the caller's signal and (optionally) one
 * deadline. `release()` removes every listener and timer; it never aborts the signal.
 */
export class Link extends Tie {
  readonly controller: AbortController = new AbortController();
  kind: AbortKind | undefined;

  /**
   * @param env - the call.
   * @param expiresAt - absolute time when the link aborts on its own (Infinity: never).
   * @param attemptDeadline - the attempt's own deadline, to tell the two timeouts apart.
   */
  constructor(env: CallEnv, expiresAt: number, attemptDeadline: number) {
    super(env);
    if (this.attach() && expiresAt !== INF) {
      this.arm(expiresAt - env.clock.now(), () => {
        if (env.deadline <= attemptDeadline) {
          this.end('timeout', new RetryDeadlineError('total', env.timeout));
        } else {
          this.end('attempt-timeout', new RetryDeadlineError('attempt', env.attemptTimeout));
        }
      });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  protected override end(kind: AbortKind, reason: unknown): void {
    if (this.kind !== undefined) return;
    this.kind = kind;
    this.release();
    this.controller.abort(reason);
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
    // Kept this small (the rare case in a function of its own): on Node 20 an `instanceof` or a
    // closure here keeps V8 from optimizing the context away, ~56 bytes per fast-path call.
    if (this.#state === undefined) this.#state = promise;
    else releaseOnSettle(this.#state, promise);
  }

  /** The attempt settled: detach its signal (never aborting it). */
  release(): void {
    const state = this.#state;
    if (state instanceof Link) state.release();
    else this.#state = true;
  }
}

/** Releases `state` when `promise` settles, if it is a link (the signal was read during `fn`). */
function releaseOnSettle(
  state: PromiseLike<unknown> | Link | true,
  promise: PromiseLike<unknown>,
): void {
  if (state instanceof Link) {
    const release = (): void => state.release();
    promise.then(release, release);
  }
}

/**
 * The built-in wait between attempts: a timer that the retrier's `cancel()` and the caller's
 * signal end early. Resolves in every case; the retrier checks why afterwards.
 */
export class Waiter extends Tie {
  readonly promise: Promise<void>;
  #resolve: (() => void) | undefined;

  constructor(env: CallEnv, ms: number, unref: boolean) {
    super(env);
    this.promise = new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
    if (this.attach()) this.arm(ms, () => this.end(), unref);
  }

  protected override end(): void {
    const resolve = this.#resolve;
    if (resolve === undefined) return;
    this.#resolve = undefined;
    this.release();
    resolve();
  }
}
