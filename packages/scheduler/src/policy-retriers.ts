/**
 * Retriers for the retry policies written as data on jobs: the `@again/retry` options a policy
 * stands for, the check that `@again/retry` accepts a policy (used when a job is parsed), and
 * the retrier a run or a callback uses (a named one, or one built for the policy and cached).
 *
 * @module
 */
import {
  createRetrier,
  type Retrier,
  type RetrierOptions,
  RetryOptionsError,
  type SleepFunction,
} from '@again/retry';
import type { JobIssue } from './errors.js';
import type { ParsedRetryPolicyInput } from './job-schema.js';
import { JOB_DEFAULTS, type JobSpec, type RetryPolicySpec } from './job-types.js';
import type { SchedulerLogger } from './logger.js';

/**
 * Builds `@again/retry` options from a normalised policy, passing only the fields that apply to
 * its backoff and jitter strategy (the retrier refuses contradictory combinations).
 *
 * @param policy - the job's retry policy (from `parseJob`).
 * @returns options for `createRetrier`; a `timeout` of 0 becomes `Infinity`.
 * @example
 * ```ts
 * const retrier = createRetrier({ ...retrierOptionsFromPolicy(spec.retry), sleep });
 * ```
 */
export function retrierOptionsFromPolicy(policy: RetryPolicySpec): RetrierOptions {
  const decorrelated = policy.jitterStrategy === 'decorrelated';
  return {
    maxRetries: policy.maxRetries,
    interval: policy.interval,
    ...(decorrelated
      ? {}
      : {
          backoff: policy.backoff,
          ...(policy.backoff === 'exponential' ? { backoffFactor: policy.backoffFactor } : {}),
        }),
    maxDelay: policy.maxDelay,
    jitterStrategy: policy.jitterStrategy,
    ...(policy.jitterStrategy === 'additive' ? { jitter: policy.jitter } : {}),
    timeout: policy.timeout === 0 ? Number.POSITIVE_INFINITY : policy.timeout,
    maxRetryAfter: policy.maxRetryAfter,
  };
}

/**
 * Where a job holds a retry policy: the job's own (`retryPolicy`) and its callback's
 * (`callback.retryPolicy`). Issues about a policy are reported under its path.
 *
 * @example
 * ```ts
 * const path: RetryPolicyPath = 'callback.retryPolicy';
 * ```
 */
export type RetryPolicyPath = 'retryPolicy' | 'callback.retryPolicy';

/**
 * The defaults of the policy at each {@link RetryPolicyPath}: `JOB_DEFAULTS.retry` for the job,
 * `JOB_DEFAULTS.callbackRetry` for its callback.
 *
 * @example
 * ```ts
 * RETRY_POLICY_DEFAULTS['callback.retryPolicy'].maxRetries; // 3
 * ```
 */
export const RETRY_POLICY_DEFAULTS: Readonly<Record<RetryPolicyPath, RetryPolicySpec>> =
  Object.freeze({
    retryPolicy: JOB_DEFAULTS.retry,
    'callback.retryPolicy': JOB_DEFAULTS.callbackRetry,
  });

/**
 * The `@again/retry` options a policy *as the user wrote it* stands for: the strategy fields
 * (`backoff`, `backoffFactor`, `jitter`) only when given, so a contradiction such as a
 * `backoffFactor` with linear backoff reaches the retrier's own checks, and every other field
 * with the policy's defaults applied, so the options are those the run will use.
 */
function retrierOptionsFromInput(
  input: ParsedRetryPolicyInput,
  defaults: RetryPolicySpec,
): RetrierOptions {
  const timeout = input.timeout ?? defaults.timeout;
  return {
    maxRetries: input.maxRetries ?? defaults.maxRetries,
    interval: input.interval ?? defaults.interval,
    ...(input.backoff === undefined ? {} : { backoff: input.backoff }),
    ...(input.backoffFactor === undefined ? {} : { backoffFactor: input.backoffFactor }),
    maxDelay: input.maxDelay ?? defaults.maxDelay,
    jitterStrategy: input.jitterStrategy ?? defaults.jitterStrategy,
    ...(input.jitter === undefined ? {} : { jitter: input.jitter }),
    timeout: timeout === 0 ? Number.POSITIVE_INFINITY : timeout,
    maxRetryAfter: input.maxRetryAfter ?? defaults.maxRetryAfter,
  };
}

/** Policy fields that are `@again/retry` options of the same name. */
const POLICY_OPTIONS: ReadonlySet<string> = new Set([
  'maxRetries',
  'interval',
  'backoff',
  'backoffFactor',
  'maxDelay',
  'jitter',
  'jitterStrategy',
  'timeout',
  'maxRetryAfter',
]);

/**
 * Checks a data-defined retry policy with `@again/retry`'s own option rules, so that a stored
 * policy always builds a retrier and the rules live in one place. The retrier reports the first
 * problem it meets, named by its option, which becomes the issue's path `<at>.<field>`.
 *
 * @param input - a retry policy of a job input, each field already type-checked; a policy naming
 *   a registered `retrier` has no delay fields and is not checked here.
 * @param at - where the policy is: the job's `retryPolicy` (the default) or the callback's
 *   `callback.retryPolicy`; it picks the defaults applied to the fields not given.
 * @returns the problem, or `null` when `@again/retry` accepts the policy.
 * @example
 * ```ts
 * retryPolicyIssue({ jitterStrategy: 'none', jitter: 100 });
 * // { path: 'retryPolicy.jitter', message: "retryPolicy.jitter: only applies to the 'additive' jitter strategy, not 'none'" }
 * retryPolicyIssue({ jitter: 100 }, 'callback.retryPolicy');
 * // { path: 'callback.retryPolicy.jitter', message: "callback.retryPolicy.jitter: only applies to the 'additive' jitter strategy, not 'full'" }
 * ```
 */
export function retryPolicyIssue(
  input: ParsedRetryPolicyInput,
  at: RetryPolicyPath = 'retryPolicy',
): JobIssue | null {
  try {
    createRetrier(retrierOptionsFromInput(input, RETRY_POLICY_DEFAULTS[at]));
    return null;
  } catch (error) {
    if (!(error instanceof RetryOptionsError)) throw error;
    const field = POLICY_OPTIONS.has(error.option) ? error.option : null;
    const path = field === null ? at : `${at}.${field}`;
    return { path, message: `${path}: ${error.expected}` };
  }
}

/**
 * Issues for each retry policy of `spec` that names a retrier not registered on the scheduler
 * (at `retryPolicy.retrier`, `callback.retryPolicy.retrier`). `schedule()` and `update()` call it,
 * so a job that could never run its retries is refused up front.
 *
 * @param spec - the parsed job.
 * @param retriers - the retriers registered on the scheduler, by name.
 * @returns the issues (empty when every name is known, or no policy names a retrier).
 * @example
 * ```ts
 * issues.push(...unknownRetrierNames(spec, options.retriers));
 * ```
 */
export function unknownRetrierNames(
  spec: JobSpec,
  retriers: ReadonlyMap<string, unknown>,
): JobIssue[] {
  const issues: JobIssue[] = [];
  const named: Array<readonly [RetryPolicyPath, string | null]> = [
    ['retryPolicy', spec.retry.retrier],
    ['callback.retryPolicy', spec.callback?.retry.retrier ?? null],
  ];
  for (const [at, name] of named) {
    if (name !== null && !retriers.has(name)) {
      issues.push({
        path: `${at}.retrier`,
        message: `no retrier named "${name}" is registered on this scheduler`,
      });
    }
  }
  return issues;
}

/**
 * What {@link resolveRetrier} needs from the scheduler.
 *
 * @example
 * ```ts
 * const retrier = resolveRetrier(spec.retry, { retriers, now: Date.now, logger });
 * ```
 */
export interface PolicyRetrierDeps {
  /** Retriers registered on the scheduler by name. */
  readonly retriers: ReadonlyMap<string, Retrier>;
  /** Cache of retriers built for data-defined policies (see `ExecuteDeps.policyRetriers`). */
  readonly policyRetriers?: Map<string, Retrier> | undefined;
  /** Clock, epoch ms. */
  readonly now: () => number;
  readonly logger: SchedulerLogger;
  /** Sleep between retries (tests inject an instant one). */
  readonly sleep?: SleepFunction | undefined;
  /** Randomness for jitter (tests inject a fixed one). */
  readonly random?: (() => number) | undefined;
}

/** Most distinct data-defined policies whose retriers {@link resolveRetrier} keeps. */
const POLICY_RETRIERS_LIMIT = 1_000;

/** Every policy field {@link retrierOptionsFromPolicy} reads: equal keys build equal retriers. */
function retrierKey(policy: RetryPolicySpec): string {
  return [
    policy.maxRetries,
    policy.interval,
    policy.backoff,
    policy.backoffFactor,
    policy.maxDelay,
    policy.jitterStrategy,
    policy.jitter,
    policy.timeout,
    policy.maxRetryAfter,
  ].join(' ');
}

/**
 * The retrier a run (or a callback delivery) uses: the one registered under `policy.retrier`, or one built for the
 * policy's values (taken from, and added to, `deps.policyRetriers` when given). A retrier serves
 * concurrent calls and keeps no per-call state, so sharing one between runs is safe.
 *
 * @param policy - the job's retry policy, or its callback's.
 * @param deps - named retriers, the cache, and the clock, logger, sleep and random of built ones.
 * @returns the retrier, or an `Error` saying why there is none (an unregistered name, or
 *   options `@again/retry` refuses, e.g. a corrupt stored spec).
 * @example
 * ```ts
 * const retrier = resolveRetrier(spec.retry, deps);
 * if (retrier instanceof Error) return fail(retrier.message);
 * ```
 */
export function resolveRetrier(policy: RetryPolicySpec, deps: PolicyRetrierDeps): Retrier | Error {
  if (policy.retrier !== null) {
    const named = deps.retriers.get(policy.retrier);
    return named ?? new Error(`retrier "${policy.retrier}" is not registered on the scheduler`);
  }
  const cache = deps.policyRetriers;
  const key = cache === undefined ? '' : retrierKey(policy);
  const cached = cache?.get(key);
  if (cached !== undefined) return cached;
  try {
    const retrier = createRetrier({
      ...retrierOptionsFromPolicy(policy),
      clock: { now: deps.now },
      logger: deps.logger,
      ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
      ...(deps.random === undefined ? {} : { random: deps.random }),
    });
    if (cache !== undefined) {
      // Full (more distinct policies than the limit): start over rather than track ages.
      if (cache.size >= POLICY_RETRIERS_LIMIT) cache.clear();
      cache.set(key, retrier);
    }
    return retrier;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
