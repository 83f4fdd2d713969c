import { clampRandom, computeDelay } from './backoff.js';
import {
  RetryCancelledError,
  RetryDeadlineError,
  RetryError,
  RetryOptionsError,
  type RetryReason,
  RetryResultError,
  RetryStopError,
} from './errors.js';
import { findRetryAfter } from './hint.js';
import { AttemptContextImpl, type CallEnv, Lifecycle, Link, Waiter } from './link.js';
import { matchesRetryOn, normalizeRetryOn } from './match.js';
import {
  ANY,
  COUNT,
  FUNCTION,
  type NormalizedRetrierOptions,
  normalizeHooks,
  normalizeRetrierOptions,
  OBJECT,
  REGISTRY,
  type RetrierOptions,
  type Rule,
  TIMEOUT,
  validate,
} from './options.js';
import { yieldToEventLoop } from './sleep.js';
import { type AttemptTiming, createTrace, type RetryTrace } from './trace.js';
import type {
  AcceptFunction,
  ErrorMatcher,
  RetryableFunction,
  RetryHooks,
  RetryPredicate,
  SleepFunction,
  TemporaryErrorClassifier,
} from './types.js';
import { read } from './walk.js';

const INF = Number.POSITIVE_INFINITY;

/**
 * Options for one call of `run`, `settle` or `runUntil`.
 *
 * Which errors are retried: the `retryOn` list when given (and non-empty); otherwise the
 * registry (this call's, else the retrier's); otherwise every error (go-again's rule). An error
 * that passes that rule must then pass `shouldRetry` (this call's, else the retrier's).
 *
 * @example
 * ```ts
 * await retrier.run(task, {
 *   signal: AbortSignal.timeout(5_000),
 *   retryOn: [RateLimitError, 'ECONNRESET'],
 *   hooks: { onRetry: ({ delay }) => console.log(`retrying in ${delay} ms`) },
 * });
 * ```
 */
export interface CallOptions<T = unknown> {
  /** Aborting it ends the call with reason `'aborted'`; the running attempt's signal aborts too. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Retries after the first attempt for this call, replacing the retrier's `maxRetries` (an
   * integer >= 0, or `Infinity`).
   * @defaultValue the retrier's `maxRetries`
   */
  readonly maxRetries?: number | undefined;
  /**
   * Total deadline of this call, replacing the retrier's `timeout` (a number > 0, or `Infinity`
   * for none). A wait that would not fit in it is not started.
   * @defaultValue the retrier's `timeout`
   */
  readonly timeout?: number | undefined;
  /**
   * Deadline of each attempt of this call, replacing the retrier's `attemptTimeout` for it (a
   * number > 0, or `Infinity` for none). When it fires, the attempt's signal aborts with a
   * {@link RetryDeadlineError} of scope `'attempt'`, and the attempt counts as a temporary
   * failure. Useful when one retrier serves calls with different per-attempt budgets, e.g. one
   * HTTP timeout per endpoint.
   * @defaultValue the retrier's `attemptTimeout`
   */
  readonly attemptTimeout?: number | undefined;
  /**
   * The only errors to retry for this call: instances (identity), classes (`instanceof`) or
   * codes (`error.code`), each checked along the `cause` chain and `AggregateError` members. Replaces the registry rule.
   */
  readonly retryOn?: readonly ErrorMatcher[] | undefined;
  /** Registry for this call (replaces the retrier's). */
  readonly registry?: TemporaryErrorClassifier | undefined;
  /** Predicate for this call (replaces the retrier's). */
  readonly shouldRetry?: RetryPredicate | undefined;
  /**
   * Result predicate: a value for which it returns `false` is recorded as a
   * {@link RetryResultError} and retried. `runUntil` sets it from its argument.
   */
  readonly accept?: AcceptFunction<T> | undefined;
  /** Hooks for this call; they run after the retrier's own. */
  readonly hooks?: RetryHooks<T> | undefined;
}

/**
 * A retry policy, built once by {@link createRetrier} and shared by any number of concurrent
 * calls. Options are validated and frozen at construction.
 *
 * @example
 * ```ts
 * const retrier = createRetrier({ maxRetries: 3, interval: 100 });
 * const user = await retrier.run(({ signal }) => fetchUser(id, { signal }));
 * ```
 */
export interface Retrier {
  /** The validated, frozen options with defaults filled in. */
  readonly options: NormalizedRetrierOptions;
  /**
   * Aborts when the retrier is cancelled (`cancel()` / `stop()`); its reason is the cancel
   * reason. Created on first read.
   */
  readonly signal: AbortSignal;
  /** `true` once `cancel()` or `stop()` was called. */
  readonly cancelled: boolean;
  /**
   * Runs `fn` until it succeeds or the policy gives up.
   *
   * @param fn - the work; receives `{ signal, attempt }`.
   * @param callOptions - signal, error rules and hooks for this call.
   * @returns the value of the successful attempt.
   * @throws {@link RetryError} when the call gives up (as a rejection);
   *   {@link RetryOptionsError} when `fn` or a call option is invalid.
   */
  run<T>(fn: RetryableFunction<T>, callOptions?: CallOptions<T>): Promise<T>;
  /**
   * Like `run`, but never rejects because of `fn`: resolves with a {@link RetryTrace} that holds
   * the value or the reason, every attempt's error and timings.
   *
   * @param fn - the work; receives `{ signal, attempt }`.
   * @param callOptions - signal, error rules and hooks for this call.
   * @returns the trace.
   * @throws {@link RetryOptionsError} when `fn` or a call option is invalid (as a rejection).
   */
  settle<T>(fn: RetryableFunction<T>, callOptions?: CallOptions<T>): Promise<RetryTrace<T>>;
  /**
   * Like `run`, but also retries while `accept(value, attempt)` returns `false` (a result
   * predicate, for polling or HTTP responses). Refused results are recorded as
   * {@link RetryResultError}s and are always retryable.
   *
   * @param fn - the work; receives `{ signal, attempt }`.
   * @param accept - returns `true` for a good enough value.
   * @param callOptions - signal, error rules and hooks for this call.
   * @returns the first accepted value.
   * @throws {@link RetryError} when the call gives up; {@link RetryOptionsError} on bad input.
   */
  runUntil<T>(
    fn: RetryableFunction<T>,
    accept: AcceptFunction<T>,
    callOptions?: CallOptions<T>,
  ): Promise<T>;
  /**
   * Cancels the retrier for good (go-again's `Cancel`): running attempts' signals abort with
   * `reason`, pending waits end, and every call, current or future, gives up with reason
   * `'stopped'` before its next attempt. Calling it again does nothing.
   *
   * @param reason - the abort reason; defaults to a {@link RetryCancelledError}.
   */
  cancel(reason?: unknown): void;
  /**
   * The same as `cancel()` (go-again has both).
   *
   * @param reason - the abort reason; defaults to a {@link RetryCancelledError}.
   */
  stop(reason?: unknown): void;
}

/**
 * Consecutive zero-delay retries of one call run after a microtask turn, but every 8th yields a
 * whole event-loop turn (no timer), so that an endless zero-delay loop cannot starve timers, I/O
 * and abort events. Eight keeps a typical "retry a few times at once" call as cheap as a bare
 * loop while bounding how long one call can hold the thread.
 */
const ZERO_DELAY_TURN = 8;

const RUN = 0;
const SETTLE = 1;
type Mode = typeof RUN | typeof SETTLE;

interface NormalizedCallOptions {
  readonly signal: AbortSignal | undefined;
  readonly maxRetries: number | undefined;
  readonly timeout: number | undefined;
  readonly attemptTimeout: number | undefined;
  readonly retryOn: readonly ErrorMatcher[] | undefined;
  readonly registry: TemporaryErrorClassifier | undefined;
  readonly shouldRetry: RetryPredicate | undefined;
  readonly accept: AcceptFunction<unknown> | undefined;
  readonly hooks: Readonly<RetryHooks> | undefined;
}

// Read as "no call options": every field undefined.
const NO_CALL_OPTIONS = Object.freeze({}) as NormalizedCallOptions;

const isSignal: Rule[0] = (value) =>
  typeof read(value, 'aborted') === 'boolean' &&
  typeof read(value, 'addEventListener') === 'function' &&
  typeof read(value, 'removeEventListener') === 'function';

const CALL_RULES: Readonly<Record<string, Rule>> = {
  signal: [isSignal, 'an AbortSignal'],
  maxRetries: COUNT,
  timeout: TIMEOUT,
  attemptTimeout: TIMEOUT,
  retryOn: ANY,
  registry: REGISTRY,
  shouldRetry: FUNCTION,
  accept: FUNCTION,
  hooks: OBJECT,
};

function normalizeCallOptions(value: unknown): NormalizedCallOptions {
  if (value === undefined) return NO_CALL_OPTIONS;
  const call = validate('callOptions', 'callOptions.', value, CALL_RULES, 'call option');
  const retryOn = normalizeRetryOn(call.retryOn);
  call.retryOn = retryOn !== undefined && retryOn.length > 0 ? retryOn : undefined;
  call.hooks = normalizeHooks('callOptions.hooks', call.hooks);
  return call as unknown as NormalizedCallOptions;
}

/** A RetryStopError thrown by an attempt (a revoked proxy is not one, and does not throw here). */
function isStop(error: unknown): error is RetryStopError {
  try {
    return error instanceof RetryStopError;
  } catch {
    return false;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

class RetrierImpl implements Retrier {
  readonly options: NormalizedRetrierOptions;
  readonly #life: Lifecycle = new Lifecycle();
  #controller: AbortController | undefined;
  /**
   * No hooks or budget, and not cancelled: `run()` without call options can skip the general
   * loop for its first attempt. One flag, so the fast path checks a single field.
   */
  #fast: boolean;
  /** The fast path needs the clock (a total deadline or an attempt timeout is set). */
  readonly #timed: boolean;
  /** The call facts of every fast-path call when nothing is timed. */
  readonly #fastEnv: CallEnv;
  /** Stands for the first attempt of an untimed fast-path call that failed (never run). */
  readonly #untimedFirst: AttemptContextImpl;

  constructor(options: NormalizedRetrierOptions) {
    this.options = options;
    this.#fast = options.hooks === undefined && options.budget === undefined;
    this.#timed = options.timeout !== INF || options.attemptTimeout !== INF;
    this.#fastEnv = Object.freeze({
      life: this.#life,
      callerSignal: undefined,
      clock: options.clock,
      deadline: INF,
      timeout: options.timeout,
      attemptTimeout: options.attemptTimeout,
    });
    this.#untimedFirst = new AttemptContextImpl(this.#fastEnv, 1, INF);
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#life.cancelled) this.#controller.abort(this.#life.reason);
    }
    return this.#controller.signal;
  }

  get cancelled(): boolean {
    return this.#life.cancelled;
  }

  /** In-flight links and waits; exposed for leak tests. @internal */
  get activeCount(): number {
    return this.#life.activeCount;
  }

  cancel(reason?: unknown): void {
    const why = reason === undefined ? new RetryCancelledError() : reason;
    // Cancelled calls take the general loop, which gives up before the first attempt.
    this.#fast = false;
    if (this.#life.cancel(why)) this.#controller?.abort(why);
  }

  stop(reason?: unknown): void {
    this.cancel(reason);
  }

  run<T>(fn: RetryableFunction<T>, callOptions?: CallOptions<T>): Promise<T> {
    if (callOptions !== undefined || !this.#fast || typeof fn !== 'function') {
      return this.#execute(fn, callOptions, RUN) as Promise<T>;
    }
    // Fast path: the first attempt without the general loop's bookkeeping. A first-try success
    // costs one context object, one bound function and one promise reaction.
    const o = this.options;
    let env = this.#fastEnv;
    let attemptDeadline = INF;
    if (this.#timed) {
      // One clock read: the call's deadline and the attempt's own.
      let now: number;
      try {
        now = o.clock.now();
      } catch {
        // A broken clock: the general loop turns its error into a rejected RetryError.
        return this.#execute(fn, undefined, RUN) as Promise<T>;
      }
      attemptDeadline = now + o.attemptTimeout;
      if (o.timeout !== INF) {
        // A literal, not a spread: spreading and overriding fields is slow on Node 20.
        env = {
          life: this.#life,
          callerSignal: undefined,
          clock: o.clock,
          deadline: now + o.timeout,
          timeout: o.timeout,
          attemptTimeout: o.attemptTimeout,
        };
      }
    }
    const context = new AttemptContextImpl(env, 1, attemptDeadline);
    let promise: Promise<T>;
    try {
      const result = fn(context);
      // Promise.resolve() costs ~15 ns even for a native promise; most attempts return one.
      // Inside the try: a revoked proxy or a throwing `then` getter is a failed attempt.
      promise = result instanceof Promise ? result : Promise.resolve(result);
    } catch (error) {
      context.release();
      return this.#execute(fn, undefined, RUN, undefined, context, error) as Promise<T>;
    }
    context.releaseWhenSettled(promise);
    // Untimed, the handler does not need `context` (the general loop gets the retrier's shared
    // first-attempt stand-in), so it is `fn` bound to a method: ~30 bytes less than a closure.
    return promise.then(
      undefined,
      this.#timed
        ? this.#retryAfter(fn, context)
        : (this.#retryUntimed.bind(this, fn) as (error: unknown) => Promise<T>),
    );
  }

  /**
   * The rejection handler of an untimed fast-path call, bound to `fn`: a bound function costs
   * ~30 bytes less than a closure on Node 20.
   */
  #retryUntimed(fn: RetryableFunction<unknown>, error: unknown): Promise<unknown> {
    return this.#execute(fn, undefined, RUN, undefined, this.#untimedFirst, error);
  }

  /** The rejection handler of a timed fast-path call: the loop needs the attempt's deadlines. */
  #retryAfter<T>(
    fn: RetryableFunction<T>,
    context: AttemptContextImpl,
  ): (e: unknown) => Promise<T> {
    return (error) => this.#execute(fn, undefined, RUN, undefined, context, error) as Promise<T>;
  }

  settle<T>(fn: RetryableFunction<T>, callOptions?: CallOptions<T>): Promise<RetryTrace<T>> {
    return this.#execute(fn, callOptions, SETTLE) as Promise<RetryTrace<T>>;
  }

  runUntil<T>(
    fn: RetryableFunction<T>,
    accept: AcceptFunction<T>,
    callOptions?: CallOptions<T>,
  ): Promise<T> {
    if (typeof accept !== 'function') {
      return Promise.reject(new RetryOptionsError('accept', 'expected a function', accept));
    }
    if (callOptions?.accept !== undefined) {
      return Promise.reject(
        new RetryOptionsError(
          'callOptions.accept',
          'cannot be combined with the accept argument of runUntil',
          callOptions.accept,
        ),
      );
    }
    return this.#execute(fn, callOptions, RUN, accept as AcceptFunction<unknown>) as Promise<T>;
  }

  /** The general loop: every attempt after a fast-path failure, and every other kind of call. */
  async #execute(
    fn: RetryableFunction<unknown>,
    callOptions: unknown,
    mode: Mode,
    acceptArgument?: AcceptFunction<unknown>,
    first?: AttemptContextImpl,
    firstError?: unknown,
  ): Promise<unknown> {
    if (typeof fn !== 'function') throw new RetryOptionsError('fn', 'expected a function', fn);
    const call = normalizeCallOptions(callOptions);
    const o = this.options;
    const life = this.#life;
    const clock = o.clock;
    const callerSignal = call.signal;
    const accept = acceptArgument ?? call.accept;
    const maxRetries = call.maxRetries ?? o.maxRetries;
    const timeout = call.timeout ?? o.timeout;
    const timed = mode === SETTLE;
    const errors: unknown[] = [];
    const timings: AttemptTiming[] = [];
    // Checked before building hook payloads and log lines, which a plain call never needs.
    const hooked = o.hooks !== undefined || call.hooks !== undefined;
    const logging = o.logger !== undefined;
    let ran = 0;
    let start = 0;
    let delayBefore = 0;
    let previousDelay = o.interval;
    let zeroWaits = 0;
    let env: CallEnv | undefined = first?.env;
    /** An attempt threw a RetryStopError: records what it wraps, and ends the call. */
    let stopRequested = false;
    const unwrap = (error: unknown): unknown => {
      if (!isStop(error)) return error;
      stopRequested = true;
      return error.cause === undefined ? error : error.cause;
    };

    const finish = (
      reason: RetryReason | undefined,
      value?: unknown,
      budgetExhausted = false,
      cause: unknown = errors.length > 0 ? errors[errors.length - 1] : this.#endCause(reason, env),
    ): unknown => {
      let elapsed = 0;
      if (timed) {
        try {
          elapsed = clock.now() - start;
        } catch {
          // A clock that broke mid-call: the trace reports no elapsed time.
        }
      }
      if (reason === undefined) {
        if (!timed) return value;
        return createTrace({ ok: true, value }, errors, timings, ran, elapsed);
      }
      const error = new RetryError({ reason, errors, attempts: ran, cause, budgetExhausted });
      if (hooked) {
        this.#notify(call, 'onGiveUp', {
          reason,
          error,
        });
      }
      if (logging) {
        this.#log('debug', `giving up after ${ran} attempt(s): ${reason}`, cause);
      }
      if (!timed) throw error;
      return createTrace({ ok: false, error }, errors, timings, ran, elapsed);
    };

    try {
      // The fast path already started the call (and its deadline) when it hands over a failure.
      if (first === undefined && (timed || timeout !== INF)) {
        start = clock.now();
      }
      env ??= {
        life,
        callerSignal,
        clock,
        deadline: timeout === INF ? timeout : start + timeout,
        timeout,
        attemptTimeout: call.attemptTimeout ?? o.attemptTimeout,
      };
      for (let attempt = 1; ; attempt++) {
        let failed = false;
        let failure: unknown;
        let value: unknown;
        let forcedTemporary = false;
        let rejectedResult = false;
        // The call's deadline timer aborted this attempt: a timer may fire a moment before the
        // clock reads the deadline, so this, not a clock read, says the time is up.
        let deadlineFired = false;

        if (first !== undefined && attempt === 1) {
          ran = 1;
          failed = true;
          failure = unwrap(firstError);
          if (first.attemptDeadline !== INF) {
            forcedTemporary =
              first.abortKind === 'attempt-timeout' || clock.now() >= first.attemptDeadline;
          }
          deadlineFired = first.abortKind === 'timeout';
        } else {
          const stop = this.#stopReason(env, attempt > 1);
          if (stop !== undefined) return finish(stop);
          if (hooked) {
            this.#notify(call, 'onAttempt', {
              attempt,
            });
          }
          const startedAt = timed || env.attemptTimeout !== INF ? clock.now() : 0;
          const attemptDeadline =
            env.attemptTimeout === INF ? env.attemptTimeout : startedAt + env.attemptTimeout;
          const context = new AttemptContextImpl(env, attempt, attemptDeadline);
          ran = attempt;
          try {
            value = await fn(context);
          } catch (error) {
            failed = true;
            failure = error;
          } finally {
            context.release();
          }
          const endedAt = timed || attemptDeadline !== INF ? clock.now() : 0;
          if (failed && attemptDeadline !== INF) {
            // The attempt's own timeout makes the failure temporary, whether the attempt noticed
            // it through its signal or simply ran past it.
            forcedTemporary = context.abortKind === 'attempt-timeout' || endedAt >= attemptDeadline;
          }
          deadlineFired = context.abortKind === 'timeout';
          if (!failed && accept !== undefined) {
            try {
              if ((await accept(value, attempt)) !== true) {
                failed = true;
                rejectedResult = true;
                failure = new RetryResultError(value, attempt);
              }
            } catch (error) {
              failed = true;
              failure = error;
            }
          }
          if (failed) failure = unwrap(failure);
          if (timed) {
            timings.push(
              Object.freeze({
                attempt,
                startedAt,
                duration: endedAt - startedAt,
                delayBefore,
                ok: !failed,
                error: failed ? failure : undefined,
              }),
            );
          }
        }

        if (!failed) {
          o.budget?.recordSuccess();
          if (hooked)
            this.#notify(call, 'onSuccess', {
              attempt,
              value,
            });
          return finish(undefined, value);
        }
        errors.push(failure);

        // Once the call was stopped, aborted or ran out of time, that is why it ends, whatever
        // the attempt threw.
        const stop = this.#stopReason(env, true) ?? (deadlineFired ? 'timeout' : undefined);
        if (stop !== undefined) return finish(stop);

        if (stopRequested) return finish('non-retryable');
        const retriesLeft = maxRetries - (attempt - 1);
        if (!rejectedResult) {
          let retryable = this.#isRetryable(failure, call, forcedTemporary, attempt, retriesLeft);
          if (typeof retryable !== 'boolean') {
            retryable = await retryable;
            // The call may have been stopped or aborted while an async predicate ran: end it
            // before a retry is announced or a budget token taken.
            const late = this.#stopReason(env, false);
            if (late !== undefined) return finish(late);
          }
          if (!retryable) return finish('non-retryable');
        }
        if (retriesLeft <= 0) return finish('exhausted');

        let delay = computeDelay(o, attempt - 1, previousDelay, this.#random());
        previousDelay = delay;
        const hint = findRetryAfter(failure);
        const deadline = env.deadline;
        if (hint !== undefined || deadline !== INF) {
          const now = clock.now();
          const remaining = deadline - now;
          if (hint !== undefined) {
            const ms = Math.min(
              o.maxRetryAfter,
              typeof hint === 'number' ? hint : Math.max(0, hint.getTime() - now),
            );
            // A server asking (within maxRetryAfter) for more time than the call has left: waiting
            // cannot help.
            if (ms >= remaining) return finish('timeout');
            delay = Math.max(delay, ms);
          }
          if (delay >= remaining) return finish('timeout');
        }
        if (o.budget !== undefined && !o.budget.tryAcquire()) {
          return finish('exhausted', undefined, true);
        }
        if (hooked)
          this.#notify(call, 'onRetry', {
            attempt,
            error: failure,
            delay,
            retriesLeft: retriesLeft - 1,
          });
        if (logging)
          this.#log('debug', `attempt ${attempt} failed, retrying in ${delay} ms`, failure);
        if (delay > 0 || o.sleep !== undefined || ++zeroWaits === ZERO_DELAY_TURN) {
          // A timer or a whole event-loop turn: the streak of microtask-only retries ends.
          zeroWaits = 0;
          await this.#wait(env, delay);
        } else {
          // A zero delay costs one microtask turn, like a bare retry loop; every
          // ZERO_DELAY_TURN-th one in a row yields a whole event-loop turn instead (below).
          await undefined;
        }
        delayBefore = delay;
      }
    } catch (error) {
      if (error instanceof RetryError) throw error;
      // Only the retrier's own collaborators get here (a clock, `random` or budget that threw):
      // everything the caller's code throws is caught where it runs. The call cannot go on.
      return finish('non-retryable', undefined, false, error);
    }
  }

  #random(): number {
    const o = this.options;
    const needed = o.jitterStrategy === 'additive' ? o.jitter > 0 : o.jitterStrategy !== 'none';
    return needed ? clampRandom(o.random()) : 0;
  }

  #stopReason(env: CallEnv, checkDeadline: boolean): RetryReason | undefined {
    if (env.life.cancelled) return 'stopped';
    if (env.callerSignal?.aborted) return 'aborted';
    if (checkDeadline && env.deadline !== INF && env.clock.now() >= env.deadline) {
      return 'timeout';
    }
    return undefined;
  }

  /** What ended a call in which no attempt failed. */
  #endCause(reason: RetryReason | undefined, env: CallEnv | undefined): unknown {
    if (reason === 'stopped') return this.#life.reason;
    if (reason === 'aborted') return env?.callerSignal?.reason;
    if (reason === 'timeout' && env !== undefined) {
      return new RetryDeadlineError('total', env.timeout);
    }
    return undefined;
  }

  /** Synchronous unless the predicate returns a promise, to keep the common case cheap. */
  #isRetryable(
    error: unknown,
    call: NormalizedCallOptions,
    forcedTemporary: boolean,
    attempt: number,
    retriesLeft: number,
  ): boolean | Promise<boolean> {
    let temporary = forcedTemporary;
    if (!temporary) {
      if (call.retryOn !== undefined) {
        temporary = matchesRetryOn(error, call.retryOn);
      } else {
        const registry = call.registry ?? this.options.registry;
        if (registry === undefined) {
          temporary = true;
        } else {
          try {
            temporary = registry.isTemporary(error) === true;
          } catch (failure) {
            this.#log('error', 'registry.isTemporary threw', failure);
            temporary = false;
          }
        }
      }
    }
    if (!temporary) return false;
    const predicate = call.shouldRetry ?? this.options.shouldRetry;
    if (predicate === undefined) return true;
    const onError = (failure: unknown): boolean => {
      this.#log('error', 'shouldRetry threw', failure);
      return false;
    };
    try {
      const verdict = predicate(error, { attempt, retriesLeft });
      if (!isThenable(verdict)) return verdict === true;
      return Promise.resolve(verdict).then((value) => value === true, onError);
    } catch (failure) {
      return onError(failure);
    }
  }

  /** Waits `delay` ms; ends early on cancel() or the caller's abort. Never rejects. */
  #wait(env: CallEnv, delay: number): Promise<void> {
    const sleep = this.options.sleep;
    if (sleep !== undefined) return this.#injectedSleep(sleep, env, delay);
    if (delay <= 0) return yieldToEventLoop();
    return new Waiter(env, delay, this.options.unref).promise;
  }

  async #injectedSleep(sleep: SleepFunction, env: CallEnv, delay: number): Promise<void> {
    const link = new Link(env, INF, INF);
    try {
      await sleep(delay, link.signal);
    } catch (error) {
      // An abort is expected here; anything else is a broken sleep function.
      if (link.kind === undefined) this.#log('error', 'sleep() threw', error);
    } finally {
      link.release();
    }
  }

  /** Runs hook `name` of the retrier, then of the call, with one frozen payload. */
  #notify(call: NormalizedCallOptions, name: keyof RetryHooks, info: object): void {
    const payload = Object.freeze(info);
    for (const hooks of [this.options.hooks, call.hooks]) {
      const hook = hooks?.[name] as ((info: object) => unknown) | undefined;
      if (hook === undefined) continue;
      try {
        const result = hook(payload);
        if (isThenable(result)) {
          result.then(undefined, (error: unknown) => {
            this.#log('error', `hook ${name} rejected`, error);
          });
        }
      } catch (error) {
        this.#log('error', `hook ${name} threw`, error);
      }
    }
  }

  /** Logs `message` (prefixed with the package name) when a logger is set. */
  #log(level: 'debug' | 'error', message: string, detail: unknown): void {
    const logger = this.options.logger;
    if (logger === undefined || typeof logger[level] !== 'function') return;
    try {
      logger[level](`@again/retry: ${message}`, detail);
    } catch {
      // A failing logger must not break the retry loop either.
    }
  }
}

/**
 * Creates a {@link Retrier}: a validated, frozen retry policy for any number of concurrent calls.
 *
 * @param options - the policy; see {@link RetrierOptions} and {@link RETRIER_DEFAULTS}.
 * @returns the retrier.
 * @throws {@link RetryOptionsError} when an option is invalid (named in `error.option`).
 *
 * @example
 * ```ts
 * const retrier = createRetrier({ maxRetries: 3, interval: 200, jitterStrategy: 'full' });
 * const response = await retrier.run(({ signal }) => fetch(url, { signal }));
 * ```
 */
export function createRetrier(options?: RetrierOptions): Retrier {
  return new RetrierImpl(normalizeRetrierOptions(options));
}
