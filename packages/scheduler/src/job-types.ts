/**
 * What a job is: the normalised, stored {@link JobSpec} and its parts, the input a user writes
 * ({@link JobInput}), the defaults applied to it and the size limits enforced on it.
 *
 * @module
 */
import type { ScheduleSpec } from './schedule.js';

/**
 * HTTP methods a job request may use.
 *
 * @example
 * ```ts
 * const method: HttpMethod = 'POST';
 * ```
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

/**
 * Every supported request method.
 *
 * @example
 * ```ts
 * HTTP_METHODS.includes('PATCH'); // true
 * ```
 */
export const HTTP_METHODS: readonly HttpMethod[] = Object.freeze([
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
]);

/**
 * Methods a callback may use (the payload is a JSON body, which GET/HEAD cannot carry).
 *
 * @example
 * ```ts
 * const method: CallbackMethod = 'PUT';
 * ```
 */
export type CallbackMethod = 'POST' | 'PUT' | 'PATCH';

/**
 * Every method a callback may use.
 *
 * @example
 * ```ts
 * CALLBACK_METHODS.includes('GET' as CallbackMethod); // false
 * ```
 */
export const CALLBACK_METHODS: readonly CallbackMethod[] = Object.freeze(['POST', 'PUT', 'PATCH']);

/**
 * The HTTP request a job sends, normalised.
 *
 * @example
 * ```ts
 * spec.request.timeout; // 10_000 unless the job set one
 * ```
 */
export interface RequestSpec {
  readonly method: HttpMethod;
  /** Absolute http(s) URL, normalised by WHATWG `URL`. */
  readonly url: string;
  /** Header names lower-cased, one value per name. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text (`bodyEncoding: 'utf8'`) or base64 (`'base64'`, binary input), or `null`. */
  readonly body: string | null;
  /** How `body` is encoded in this spec; the request always sends the decoded bytes. */
  readonly bodyEncoding: 'utf8' | 'base64';
  /** Milliseconds per attempt; `0` = no per-attempt timeout. */
  readonly timeout: number;
  /**
   * Name of the signing secret (registered on the scheduler as `signingSecrets`) each attempt is
   * signed with, Standard Webhooks style; `null` = unsigned. The secret itself is never stored.
   */
  readonly signWith: string | null;
}

/**
 * Where and how the result of each run is reported.
 *
 * @example
 * ```ts
 * spec.callback?.maxBodyBytes; // 4096 unless the job set one
 * ```
 */
export interface CallbackSpec {
  readonly url: string;
  readonly method: CallbackMethod;
  readonly headers: Readonly<Record<string, string>>;
  /** Milliseconds for the callback request; `0` = none. */
  readonly timeout: number;
  /** Bytes of the job's response body captured into the payload and history. */
  readonly maxBodyBytes: number;
  /** Name of the signing secret the callback is signed with; `null` = unsigned. */
  readonly signWith: string | null;
  /**
   * How the callback is retried: its own policy, with the same fields as the job's (defaults in
   * `JOB_DEFAULTS.callbackRetry`). `timeout` above stays the per-attempt timeout.
   */
  readonly retry: RetryPolicySpec;
}

/**
 * How the retry delay grows (see `@again/retry`).
 *
 * @example
 * ```ts
 * const backoff: BackoffStrategy = 'linear';
 * ```
 */
export type BackoffStrategy = 'exponential' | 'linear' | 'constant';

/**
 * How randomness is added to each retry delay (see `@again/retry`).
 *
 * @example
 * ```ts
 * const jitter: JitterStrategy = 'full';
 * ```
 */
export type JitterStrategy = 'additive' | 'none' | 'full' | 'equal' | 'decorrelated';

/**
 * Retry policy as plain data (or a reference to a retrier registered on the scheduler).
 *
 * @example
 * ```ts
 * spec.retry.retryStatusCodes; // [408, 425, 429, 500, 502, 503, 504] by default
 * ```
 */
export interface RetryPolicySpec {
  /** Retries after the first attempt (`0` = one attempt only). */
  readonly maxRetries: number;
  /** Base delay before the first retry, ms. */
  readonly interval: number;
  /** How the delay grows. */
  readonly backoff: BackoffStrategy;
  /** Exponential growth factor (`1` = constant). */
  readonly backoffFactor: number;
  /** Upper bound of the random delay added by the `'additive'` strategy, ms (`0` otherwise). */
  readonly jitter: number;
  /** How jitter is applied. */
  readonly jitterStrategy: JitterStrategy;
  /** Cap on a single delay, ms. */
  readonly maxDelay: number;
  /** Budget for all attempts and waits of one run, ms; `0` = none. */
  readonly timeout: number;
  /** Cap on a server's Retry-After hint, ms. */
  readonly maxRetryAfter: number;
  /** Response statuses that are retried. Other non-2xx statuses fail the run at once. */
  readonly retryStatusCodes: readonly number[];
  /** Retry transport failures (refused, reset, DNS, per-attempt timeout). */
  readonly retryNetworkErrors: boolean;
  /** Name of a retrier registered on the scheduler; when set it replaces the delay options above. */
  readonly retrier: string | null;
}

/**
 * What happens to occurrences that came due while no scheduler was running the job.
 *
 * @example
 * ```ts
 * const missed: MissedRunPolicy = { policy: 'run-all', limit: 10 };
 * ```
 */
export type MissedRunPolicy =
  | { readonly policy: 'skip' }
  | { readonly policy: 'run-once' }
  | { readonly policy: 'run-all'; readonly limit: number };

/**
 * What happens when an occurrence comes due while the previous run is still going.
 *
 * @example
 * ```ts
 * const overlap: OverlapPolicy = 'skip';
 * ```
 */
export type OverlapPolicy = 'allow' | 'skip';

/**
 * A validated, normalised, JSON-serialisable job definition (stored as `JobRecord.spec`).
 *
 * @example
 * ```ts
 * const { spec } = parseJob(input);
 * await store.createJob({ id, spec: specToRecord(spec), nextRunAt, now });
 * ```
 */
export interface JobSpec {
  readonly schedule: ScheduleSpec;
  readonly request: RequestSpec;
  readonly callback: CallbackSpec | null;
  readonly retry: RetryPolicySpec;
  readonly missedRuns: MissedRunPolicy;
  readonly overlap: OverlapPolicy;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * A point in time: a `Date`, epoch milliseconds, or an ISO-8601 string with `Z` or an offset.
 *
 * @example
 * ```ts
 * const at: TimeInput = '2026-03-01T09:00:00+01:00';
 * ```
 */
export type TimeInput = Date | number | string;

/**
 * An interval schedule: every `every` ms from the previous scheduled time (never from when a
 * run happened, so it does not drift).
 *
 * @example
 * ```ts
 * const schedule: IntervalScheduleInput = { every: 60_000, startAt: '2026-03-01T09:00:00Z', maxRuns: 10 };
 * ```
 */
export interface IntervalScheduleInput {
  /** Interval in ms. The first run is at `startAt`, or immediately. */
  readonly every: number;
  /** No occurrence before this time. */
  readonly startAt?: TimeInput | null | undefined;
  /** No occurrence after this time; inclusive. */
  readonly endAt?: TimeInput | null | undefined;
  /**
   * Maximum number of started runs; `0` = unlimited.
   * @defaultValue `0`
   */
  readonly maxRuns?: number | undefined;
  /** Not with `every`: a schedule is an interval, a cron expression or a one-off. */
  readonly cron?: undefined;
  /** Only for cron schedules. */
  readonly timezone?: undefined;
  /** Not with `every`: a schedule is an interval, a cron expression or a one-off. */
  readonly at?: undefined;
}

/**
 * A cron schedule, evaluated in an IANA time zone.
 *
 * @example
 * ```ts
 * const schedule: CronScheduleInput = { cron: '0 9 * * 1-5', timezone: 'Europe/Paris' };
 * ```
 */
export interface CronScheduleInput {
  /** Cron expression (5–7 fields or a nickname such as `@daily`; croner syntax). */
  readonly cron: string;
  /**
   * IANA time zone of the cron expression.
   * @defaultValue `'UTC'`
   */
  readonly timezone?: string | undefined;
  /** No occurrence before this time. */
  readonly startAt?: TimeInput | null | undefined;
  /** No occurrence after this time; inclusive. */
  readonly endAt?: TimeInput | null | undefined;
  /**
   * Maximum number of started runs; `0` = unlimited.
   * @defaultValue `0`
   */
  readonly maxRuns?: number | undefined;
  /** Not with `cron`: a schedule is an interval, a cron expression or a one-off. */
  readonly every?: undefined;
  /** Not with `cron`: a schedule is an interval, a cron expression or a one-off. */
  readonly at?: undefined;
}

/**
 * A one-off schedule: a single run at `at` (a time in the past runs at once, subject to the
 * job's missed-run policy).
 *
 * @example
 * ```ts
 * const schedule: OnceScheduleInput = { at: '2026-03-01T08:00:00Z' };
 * ```
 */
export interface OnceScheduleInput {
  /** One-off run time. */
  readonly at: TimeInput;
  /** Not with `at`: a schedule is an interval, a cron expression or a one-off. */
  readonly every?: undefined;
  /** Not with `at`: a schedule is an interval, a cron expression or a one-off. */
  readonly cron?: undefined;
  /** Only for cron schedules. */
  readonly timezone?: undefined;
  /** Only for interval and cron schedules. */
  readonly startAt?: undefined;
  /** Only for interval and cron schedules. */
  readonly endAt?: undefined;
  /** Only for interval and cron schedules. */
  readonly maxRuns?: undefined;
}

/**
 * When a job runs: exactly one of an interval (`every`), a cron expression (`cron`) or a
 * one-off time (`at`). A discriminated union, so `{ every, at }` or `{ at, maxRuns }` is a type
 * error; `parseJob` refuses the same mixtures at run time, for input that is not typed.
 *
 * @example
 * ```ts
 * const schedule: ScheduleInput = { cron: '0 9 * * 1-5', timezone: 'Europe/Paris' };
 * ```
 */
export type ScheduleInput = IntervalScheduleInput | CronScheduleInput | OnceScheduleInput;

/**
 * A request method as a job may write it: upper or lower case (`parseJob` accepts any case at
 * run time and stores it upper-case).
 *
 * @example
 * ```ts
 * const method: HttpMethodInput = 'post';
 * ```
 */
export type HttpMethodInput = HttpMethod | Lowercase<HttpMethod>;

/**
 * A callback method as a job may write it: upper or lower case.
 *
 * @example
 * ```ts
 * const method: CallbackMethodInput = 'PUT';
 * ```
 */
export type CallbackMethodInput = CallbackMethod | Lowercase<CallbackMethod>;

/**
 * Headers as a job may give them: a plain object of name → value, a `Headers` object, or an
 * array of `[name, value]` pairs. All are stored the same way: names lower-cased, one value per
 * name (a name given twice, ignoring case, is refused; a `Headers` object has already joined
 * repeated values with `, `).
 *
 * @example
 * ```ts
 * const headers: HeadersInput = new Headers({ authorization: 'Bearer token' });
 * ```
 */
export type HeadersInput =
  | Readonly<Record<string, string>>
  | Headers
  | ReadonlyArray<readonly [string, string]>;

/**
 * The request a job sends.
 *
 * @example
 * ```ts
 * const request: RequestInput = { method: 'POST', url: 'https://example.com/run', body: { full: true } };
 * ```
 */
export interface RequestInput {
  /**
   * HTTP method, upper or lower case.
   * @defaultValue `'GET'`
   */
  readonly method?: HttpMethodInput | undefined;
  /** Absolute `http:` or `https:` URL. */
  readonly url: string;
  /** Header names are case-insensitive; one value per name. */
  readonly headers?: HeadersInput | undefined;
  /**
   * Text is sent as is; bytes are sent as is (stored base64); a plain object or array is sent as
   * JSON with `content-type: application/json` unless you set one. Not allowed with GET/HEAD.
   */
  readonly body?: string | Uint8Array | ArrayBuffer | object | null;
  /**
   * Per-attempt timeout, ms; `0` = none.
   * @defaultValue `10_000`
   */
  readonly timeout?: number;
  /**
   * Name of a signing secret registered on the scheduler (`signingSecrets`): every attempt then
   * carries Standard Webhooks `webhook-id`, `webhook-timestamp` and `webhook-signature` headers.
   * An unknown name is refused at schedule time. `null` = unsigned.
   * @defaultValue `null`
   */
  readonly signWith?: string | null | undefined;
}

/**
 * Where to report each run's result.
 *
 * @example
 * ```ts
 * const callback: CallbackInput = { url: 'https://example.com/done', timeout: 5_000 };
 * ```
 */
export interface CallbackInput {
  /** Absolute `http:` or `https:` URL. */
  readonly url: string;
  /**
   * Callback method, upper or lower case.
   * @defaultValue `'POST'`
   */
  readonly method?: CallbackMethodInput | undefined;
  /** Header names are case-insensitive; one value per name. */
  readonly headers?: HeadersInput | undefined;
  /**
   * Callback request timeout, ms; `0` = none.
   * @defaultValue `10_000`
   */
  readonly timeout?: number;
  /**
   * Bytes of the job's response body captured (also without a callback: 4096).
   * @defaultValue `4096`
   */
  readonly maxBodyBytes?: number;
  /**
   * Name of a signing secret registered on the scheduler (`signingSecrets`) the callback is
   * signed with. An unknown name is refused at schedule time. `null` = unsigned.
   * @defaultValue `null`
   */
  readonly signWith?: string | null | undefined;
  /**
   * How the callback is retried: the fields and rules of the job's `retryPolicy`, with their own
   * defaults (a few retries with full-jitter backoff, honouring Retry-After: see
   * `JOB_DEFAULTS.callbackRetry`). A `retrier` name picks a retrier registered on the scheduler;
   * an unknown name is refused at schedule time. `timeout` above stays the per-attempt timeout.
   * @defaultValue `JOB_DEFAULTS.callbackRetry`
   */
  readonly retryPolicy?: RetryPolicyInput | undefined;
}

/**
 * Retry policy input; every field is optional (see {@link JOB_DEFAULTS}).
 *
 * @example
 * ```ts
 * const retryPolicy: RetryPolicyInput = { maxRetries: 3, interval: 1_000, retryStatusCodes: [503] };
 * ```
 */
export interface RetryPolicyInput {
  readonly maxRetries?: number;
  readonly interval?: number;
  readonly backoff?: BackoffStrategy;
  readonly backoffFactor?: number;
  readonly jitter?: number;
  readonly jitterStrategy?: JitterStrategy;
  readonly maxDelay?: number;
  readonly timeout?: number;
  readonly maxRetryAfter?: number;
  readonly retryStatusCodes?: readonly number[];
  readonly retryNetworkErrors?: boolean;
  /** Name of a retrier registered on the scheduler (cannot be combined with the delay fields). */
  readonly retrier?: string | null;
}

/**
 * A job as a user writes it. Validated by {@link parseJob}.
 *
 * @example
 * ```ts
 * const job: JobInput = { schedule: { every: 60_000 }, request: { url: 'https://example.com/' } };
 * ```
 */
export interface JobInput {
  /** Job id; omitted = the scheduler generates one. */
  readonly id?: string;
  readonly schedule: ScheduleInput;
  readonly request: RequestInput;
  readonly callback?: CallbackInput | null;
  readonly retryPolicy?: RetryPolicyInput;
  /**
   * @defaultValue `'run-once'`
   */
  readonly missedRuns?:
    | 'skip'
    | 'run-once'
    | 'run-all'
    | { readonly policy: 'skip' | 'run-once' }
    | { readonly policy: 'run-all'; readonly limit?: number };
  /**
   * @defaultValue `'allow'`
   */
  readonly overlap?: OverlapPolicy;
  /** Free-form string labels stored with the job. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Status codes retried by default: timeouts, too-early, rate limits and transient 5xx. */
const DEFAULT_RETRY_STATUS_CODES: readonly number[] = Object.freeze([
  408, 425, 429, 500, 502, 503, 504,
]);

/** The job's retry policy by default. */
const JOB_RETRY_DEFAULTS: RetryPolicySpec = Object.freeze({
  maxRetries: 5,
  interval: 500,
  backoff: 'exponential',
  backoffFactor: 2,
  jitter: 1_000,
  jitterStrategy: 'additive',
  maxDelay: 30_000,
  timeout: 60_000,
  maxRetryAfter: 60_000,
  retryStatusCodes: DEFAULT_RETRY_STATUS_CODES,
  retryNetworkErrors: true,
  retrier: null,
});

/**
 * Defaults applied by {@link parseJob}. `retry` is the job's retry policy; `callbackRetry` is the
 * callback's (fewer retries, full jitter: a callback endpoint that is down should not be hammered
 * in step by every job reporting to it).
 *
 * @example
 * ```ts
 * JOB_DEFAULTS.retry.maxRetries; // 5
 * JOB_DEFAULTS.callbackRetry.maxRetries; // 3
 * ```
 */
export const JOB_DEFAULTS: {
  readonly method: 'GET';
  readonly requestTimeout: number;
  readonly timezone: 'UTC';
  readonly maxRuns: 0;
  readonly callbackMethod: 'POST';
  readonly callbackTimeout: number;
  readonly maxBodyBytes: number;
  readonly retry: RetryPolicySpec;
  readonly callbackRetry: RetryPolicySpec;
  readonly missedRuns: MissedRunPolicy;
  readonly runAllLimit: number;
  readonly overlap: OverlapPolicy;
} = Object.freeze({
  method: 'GET',
  requestTimeout: 10_000,
  timezone: 'UTC',
  maxRuns: 0,
  callbackMethod: 'POST',
  callbackTimeout: 10_000,
  maxBodyBytes: 4096,
  retry: JOB_RETRY_DEFAULTS,
  // The job's policy, with fewer and slower retries and full jitter.
  callbackRetry: Object.freeze({
    ...JOB_RETRY_DEFAULTS,
    maxRetries: 3,
    interval: 1_000,
    // Only the 'additive' strategy adds a fixed jitter; 'full' draws each delay from [0, delay].
    jitter: 0,
    jitterStrategy: 'full',
  }),
  missedRuns: Object.freeze({ policy: 'run-once' }),
  runAllLimit: 100,
  overlap: 'allow',
});

/**
 * Size limits enforced by {@link parseJob}, so one job cannot exhaust memory or storage.
 *
 * @example
 * ```ts
 * JOB_LIMITS.bodyBytes; // 1_048_576
 * ```
 */
export const JOB_LIMITS: {
  readonly idLength: number;
  readonly urlLength: number;
  readonly headerCount: number;
  readonly headerNameLength: number;
  readonly headerValueLength: number;
  readonly bodyBytes: number;
  readonly maxBodyBytes: number;
  readonly metadataEntries: number;
  readonly metadataKeyLength: number;
  readonly metadataValueLength: number;
  readonly cronLength: number;
  readonly maxRetries: number;
  readonly retryStatusCodes: number;
  readonly runAllLimit: number;
  readonly maxTimeout: number;
} = Object.freeze({
  idLength: 256,
  urlLength: 2048,
  headerCount: 64,
  headerNameLength: 256,
  headerValueLength: 8192,
  bodyBytes: 1_048_576,
  maxBodyBytes: 1_048_576,
  metadataEntries: 64,
  metadataKeyLength: 128,
  metadataValueLength: 1024,
  cronLength: 256,
  maxRetries: 100,
  retryStatusCodes: 100,
  runAllLimit: 10_000,
  // Node timers overflow above 2^31-1 ms.
  maxTimeout: 2_147_483_647,
});
