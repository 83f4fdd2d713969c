import type { JsonObject } from '@again/storage';
import * as v from 'valibot';
import { InvalidJobError, type JobIssue } from './errors.js';
import { checkCron, MAX_TIME, type ScheduleSpec } from './schedule.js';

/** HTTP methods a job request may use. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

/** Every supported request method. */
export const HTTP_METHODS: readonly HttpMethod[] = Object.freeze([
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
]);

/** Methods a callback may use (the payload is a JSON body, which GET/HEAD cannot carry). */
export type CallbackMethod = 'POST' | 'PUT' | 'PATCH';

const CALLBACK_METHODS: readonly CallbackMethod[] = ['POST', 'PUT', 'PATCH'];

/** The HTTP request a job sends, normalised. */
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
}

/** Where and how the result of each run is reported. */
export interface CallbackSpec {
  readonly url: string;
  readonly method: CallbackMethod;
  readonly headers: Readonly<Record<string, string>>;
  /** Milliseconds for the callback request; `0` = none. */
  readonly timeout: number;
  /** Bytes of the job's response body captured into the payload and history. */
  readonly maxBodyBytes: number;
}

/** How the retry delay grows (see `@again/retry`). */
export type BackoffStrategy = 'exponential' | 'linear' | 'constant';

/** How randomness is added to each retry delay (see `@again/retry`). */
export type JitterStrategy = 'additive' | 'none' | 'full' | 'equal' | 'decorrelated';

/** Retry policy as plain data (or a reference to a retrier registered on the scheduler). */
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

/** What happens to occurrences that came due while no scheduler was running the job. */
export type MissedRunPolicy =
  | { readonly policy: 'skip' }
  | { readonly policy: 'run-once' }
  | { readonly policy: 'run-all'; readonly limit: number };

/** What happens when an occurrence comes due while the previous run is still going. */
export type OverlapPolicy = 'allow' | 'skip';

/** A validated, normalised, JSON-serialisable job definition (stored as `JobRecord.spec`). */
export interface JobSpec {
  readonly schedule: ScheduleSpec;
  readonly request: RequestSpec;
  readonly callback: CallbackSpec | null;
  readonly retry: RetryPolicySpec;
  readonly missedRuns: MissedRunPolicy;
  readonly overlap: OverlapPolicy;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A point in time: a `Date`, epoch milliseconds, or an ISO-8601 string with `Z` or an offset. */
export type TimeInput = Date | number | string;

/**
 * When a job runs. Give exactly one of `every` (interval, ms), `cron` (expression) or `at`
 * (one-off).
 */
export interface ScheduleInput {
  /** Interval in ms. The first run is at `startAt`, or immediately. */
  readonly every?: number;
  /** Cron expression (5–7 fields or a nickname such as `@daily`; croner syntax). */
  readonly cron?: string;
  /**
   * IANA time zone of the cron expression.
   * @defaultValue `'UTC'`
   */
  readonly timezone?: string;
  /** One-off run time. */
  readonly at?: TimeInput;
  /** No occurrence before this time (interval, cron). */
  readonly startAt?: TimeInput | null;
  /** No occurrence after this time; inclusive (interval, cron). */
  readonly endAt?: TimeInput | null;
  /**
   * Maximum number of started runs (interval, cron); `0` = unlimited.
   * @defaultValue `0`
   */
  readonly maxRuns?: number;
}

/** The request a job sends. */
export interface RequestInput {
  /**
   * HTTP method (case-insensitive).
   * @defaultValue `'GET'`
   */
  readonly method?: string;
  /** Absolute `http:` or `https:` URL. */
  readonly url: string;
  /** Header names are case-insensitive; one value per name. */
  readonly headers?: Readonly<Record<string, string>>;
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
}

/** Where to report each run's result. */
export interface CallbackInput {
  readonly url: string;
  /**
   * @defaultValue `'POST'`
   */
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
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
}

/** Retry policy input; every field is optional (see {@link JOB_DEFAULTS}). */
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

/** A job as a user writes it. Validated by {@link parseJob}. */
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

/** Defaults applied by {@link parseJob}. */
export const JOB_DEFAULTS: {
  readonly method: 'GET';
  readonly requestTimeout: number;
  readonly timezone: 'UTC';
  readonly maxRuns: 0;
  readonly callbackMethod: 'POST';
  readonly callbackTimeout: number;
  readonly maxBodyBytes: number;
  readonly retry: RetryPolicySpec;
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
  retry: Object.freeze({
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
  }),
  missedRuns: Object.freeze({ policy: 'run-once' }),
  runAllLimit: 100,
  overlap: 'allow',
});

/** Size limits enforced by {@link parseJob}, so one job cannot exhaust memory or storage. */
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

/** Headers the scheduler sets itself or that fetch forbids; a job may not set them. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'idempotency-key',
  'x-again-scheduled-at',
  'x-again-attempt',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Latin-1 without control characters (tab allowed): what fetch's Headers accepts.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;
const MAX_ISSUES = 100;

// ---------------------------------------------------------------------------------------------
// Valibot schemas of the user input

const duration = (label: string, min = 0) =>
  v.pipe(
    v.number(`${label} must be a number of milliseconds`),
    v.integer(`${label} must be a whole number of milliseconds`),
    v.minValue(min, `${label} must be >= ${min}`),
    v.maxValue(JOB_LIMITS.maxTimeout, `${label} must be <= ${JOB_LIMITS.maxTimeout} ms`),
  );

const count = (label: string, max: number) =>
  v.pipe(
    v.number(`${label} must be a number`),
    v.integer(`${label} must be a whole number`),
    v.minValue(0, `${label} must be >= 0`),
    v.maxValue(max, `${label} must be <= ${max}`),
  );

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Converts a TimeInput to epoch ms, or returns an error message. */
function toEpoch(value: unknown): number | string {
  let time: number;
  if (value instanceof Date) {
    time = value.getTime();
    if (Number.isNaN(time)) return 'is an invalid Date';
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'must be a finite number of epoch milliseconds';
    if (!Number.isInteger(value)) return 'must be whole epoch milliseconds';
    time = value;
  } else if (typeof value === 'string') {
    const match = value.length <= 40 ? ISO_TIME.exec(value) : null;
    if (match === null) {
      return 'must be an ISO-8601 date-time with a zone, e.g. 2026-03-01T09:00:00Z';
    }
    const [, y, mo, d, h, mi, s] = match;
    const month = Number(mo);
    if (month < 1 || month > 12 || Number(d) < 1 || Number(d) > daysInMonth(Number(y), month)) {
      return 'has an invalid calendar date';
    }
    if (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) return 'has an invalid time';
    time = Date.parse(value);
    if (Number.isNaN(time)) return 'is not a valid date-time';
  } else {
    return 'must be a Date, epoch milliseconds or an ISO-8601 string';
  }
  if (time < 0 || time > MAX_TIME) return 'is out of range';
  return time;
}

const time = (label: string) =>
  v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const result = toEpoch(dataset.value);
      if (typeof result === 'string') {
        addIssue({ message: `${label} ${result}` });
        return NEVER;
      }
      return result;
    }),
  );

const headerRecord = (label: string) =>
  v.pipe(
    v.record(
      v.pipe(
        v.string(),
        v.maxLength(JOB_LIMITS.headerNameLength, `${label} name is too long`),
        v.regex(HEADER_NAME, `${label} name must be an HTTP token`),
        v.check(
          (name) => !RESERVED_HEADERS.has(name.toLowerCase()),
          (issue) => `${label} ${String(issue.input)} is set by the scheduler or not allowed`,
        ),
      ),
      v.pipe(
        v.string(`${label} value must be a string`),
        v.maxLength(JOB_LIMITS.headerValueLength, `${label} value is too long`),
        v.regex(HEADER_VALUE, `${label} value must be Latin-1 text without control characters`),
      ),
      `${label}s must be an object of name: value strings`,
    ),
    v.maxEntries(JOB_LIMITS.headerCount, `at most ${JOB_LIMITS.headerCount} ${label}s`),
    v.check(
      (headers) =>
        new Set(Object.keys(headers).map((name) => name.toLowerCase())).size ===
        Object.keys(headers).length,
      `${label} names must be unique ignoring case`,
    ),
  );

const urlSchema = (label: string) =>
  v.pipe(
    v.string(`${label} must be a string`),
    v.minLength(1, `${label} is required`),
    v.maxLength(
      JOB_LIMITS.urlLength,
      `${label} must be at most ${JOB_LIMITS.urlLength} characters`,
    ),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      let url: URL;
      try {
        url = new URL(dataset.value);
      } catch {
        addIssue({ message: `${label} is not a valid absolute URL` });
        return NEVER;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        addIssue({ message: `${label} must use http: or https:` });
        return NEVER;
      }
      if (url.username !== '' || url.password !== '') {
        addIssue({ message: `${label} must not contain credentials` });
        return NEVER;
      }
      return url.href;
    }),
  );

const methodSchema = <T extends string>(label: string, methods: readonly T[]) =>
  v.pipe(
    v.string(`${label} must be a string`),
    v.maxLength(16, `${label} must be one of ${methods.join(', ')}`),
    v.toUpperCase(),
    v.picklist(methods, `${label} must be one of ${methods.join(', ')}`),
  );

type BodyValue = {
  readonly body: string;
  readonly encoding: 'utf8' | 'base64';
  readonly json: boolean;
};

const bodySchema = v.pipe(
  v.unknown(),
  v.rawTransform(({ dataset, addIssue, NEVER }): BodyValue | null => {
    const value = dataset.value;
    if (value === null || value === undefined) return null;
    const tooLarge = `request body must be at most ${JOB_LIMITS.bodyBytes} bytes`;
    if (typeof value === 'string') {
      // UTF-16 length bounds the byte count from below; check cheaply before encoding.
      if (value.length > JOB_LIMITS.bodyBytes || Buffer.byteLength(value) > JOB_LIMITS.bodyBytes) {
        addIssue({ message: tooLarge });
        return NEVER;
      }
      return { body: value, encoding: 'utf8', json: false };
    }
    if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
      const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : value;
      if (bytes.byteLength > JOB_LIMITS.bodyBytes) {
        addIssue({ message: tooLarge });
        return NEVER;
      }
      return {
        body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
        encoding: 'base64',
        json: false,
      };
    }
    if (typeof value === 'object' && (Array.isArray(value) || isPlainObject(value))) {
      let json: string | undefined;
      try {
        json = JSON.stringify(value);
      } catch {
        addIssue({ message: 'request body object is not serialisable as JSON' });
        return NEVER;
      }
      if (json === undefined) {
        addIssue({ message: 'request body object is not serialisable as JSON' });
        return NEVER;
      }
      if (Buffer.byteLength(json) > JOB_LIMITS.bodyBytes) {
        addIssue({ message: tooLarge });
        return NEVER;
      }
      return { body: json, encoding: 'utf8', json: true };
    }
    addIssue({
      message: 'request body must be a string, bytes, or a plain object/array (sent as JSON)',
    });
    return NEVER;
  }),
);

const SCHEDULE_ENTRIES = {
  // Not capped at the timer limit: the engine splits long waits.
  every: v.optional(
    v.pipe(
      v.number('schedule.every must be a number of milliseconds'),
      v.integer('schedule.every must be a whole number of milliseconds'),
      v.minValue(1, 'schedule.every must be >= 1'),
      v.maxValue(MAX_TIME, 'schedule.every is too long'),
    ),
  ),
  cron: v.optional(
    v.pipe(
      v.string('schedule.cron must be a string'),
      v.minLength(1, 'schedule.cron must not be empty'),
      v.maxLength(JOB_LIMITS.cronLength, 'schedule.cron is too long'),
    ),
  ),
  timezone: v.optional(
    v.pipe(
      v.string('schedule.timezone must be a string'),
      v.maxLength(64, 'schedule.timezone is too long'),
    ),
  ),
  at: v.optional(time('schedule.at')),
  startAt: v.nullish(time('schedule.startAt')),
  endAt: v.nullish(time('schedule.endAt')),
  maxRuns: v.optional(count('schedule.maxRuns', Number.MAX_SAFE_INTEGER)),
};

const REQUEST_ENTRIES = {
  method: v.optional(methodSchema('request.method', HTTP_METHODS)),
  url: urlSchema('request.url'),
  headers: v.optional(headerRecord('request header')),
  body: v.optional(bodySchema),
  timeout: v.optional(duration('request.timeout')),
};

const CALLBACK_ENTRIES = {
  url: urlSchema('callback.url'),
  method: v.optional(methodSchema('callback.method', CALLBACK_METHODS)),
  headers: v.optional(headerRecord('callback header')),
  timeout: v.optional(duration('callback.timeout')),
  maxBodyBytes: v.optional(count('callback.maxBodyBytes', JOB_LIMITS.maxBodyBytes)),
};

const RETRY_ENTRIES = {
  maxRetries: v.optional(count('retryPolicy.maxRetries', JOB_LIMITS.maxRetries)),
  interval: v.optional(duration('retryPolicy.interval')),
  backoff: v.optional(
    v.picklist(
      ['exponential', 'linear', 'constant'] as const,
      'retryPolicy.backoff must be one of exponential, linear, constant',
    ),
  ),
  backoffFactor: v.optional(
    v.pipe(
      v.number('retryPolicy.backoffFactor must be a number'),
      v.finite('retryPolicy.backoffFactor must be finite'),
      v.minValue(1, 'retryPolicy.backoffFactor must be >= 1'),
      v.maxValue(100, 'retryPolicy.backoffFactor must be <= 100'),
    ),
  ),
  jitter: v.optional(duration('retryPolicy.jitter')),
  jitterStrategy: v.optional(
    v.picklist(
      ['additive', 'none', 'full', 'equal', 'decorrelated'] as const,
      'retryPolicy.jitterStrategy must be one of additive, none, full, equal, decorrelated',
    ),
  ),
  maxDelay: v.optional(duration('retryPolicy.maxDelay')),
  timeout: v.optional(duration('retryPolicy.timeout')),
  maxRetryAfter: v.optional(duration('retryPolicy.maxRetryAfter')),
  retryStatusCodes: v.optional(
    v.pipe(
      v.array(
        v.pipe(
          v.number('retry status code must be a number'),
          v.integer('retry status code must be an integer'),
          v.minValue(100, 'retry status code must be 100..599'),
          v.maxValue(599, 'retry status code must be 100..599'),
          v.check((code) => code < 200 || code > 299, '2xx statuses are successes, not retryable'),
        ),
        'retryPolicy.retryStatusCodes must be an array of status codes',
      ),
      v.maxLength(JOB_LIMITS.retryStatusCodes, 'too many retry status codes'),
    ),
  ),
  retryNetworkErrors: v.optional(v.boolean('retryPolicy.retryNetworkErrors must be a boolean')),
  retrier: v.nullish(
    v.pipe(
      v.string('retryPolicy.retrier must be the name of a registered retrier'),
      v.minLength(1, 'retryPolicy.retrier must not be empty'),
      v.maxLength(128, 'retryPolicy.retrier is too long'),
    ),
  ),
};

const MISSED_ENTRIES = {
  policy: v.picklist(
    ['skip', 'run-once', 'run-all'] as const,
    'missedRuns.policy must be skip, run-once or run-all',
  ),
  limit: v.optional(count('missedRuns.limit', JOB_LIMITS.runAllLimit)),
};

const ROOT_ENTRIES = {
  id: v.optional(
    v.pipe(
      v.string('id must be a string'),
      v.minLength(1, 'id must not be empty'),
      v.maxLength(JOB_LIMITS.idLength, `id must be at most ${JOB_LIMITS.idLength} characters`),
      v.check((id) => !CONTROL_CHARS.test(id), 'id must not contain control characters'),
      v.check((id) => id.trim().length > 0, 'id must not be blank'),
    ),
  ),
  schedule: v.object(SCHEDULE_ENTRIES, 'schedule is required (an object)'),
  request: v.object(REQUEST_ENTRIES, 'request is required (an object)'),
  callback: v.nullish(v.object(CALLBACK_ENTRIES, 'callback must be an object or null')),
  retryPolicy: v.optional(v.object(RETRY_ENTRIES, 'retryPolicy must be an object')),
  missedRuns: v.optional(
    v.union(
      [
        v.picklist(['skip', 'run-once', 'run-all'] as const),
        v.object(MISSED_ENTRIES, 'missedRuns must be a policy name or an object'),
      ],
      'missedRuns must be skip, run-once, run-all or { policy, limit }',
    ),
  ),
  overlap: v.optional(v.picklist(['allow', 'skip'] as const, 'overlap must be allow or skip')),
  metadata: v.optional(
    v.pipe(
      v.record(
        v.pipe(
          v.string(),
          v.minLength(1, 'metadata keys must not be empty'),
          v.maxLength(JOB_LIMITS.metadataKeyLength, 'metadata key is too long'),
        ),
        v.pipe(
          v.string('metadata values must be strings'),
          v.maxLength(JOB_LIMITS.metadataValueLength, 'metadata value is too long'),
        ),
        'metadata must be an object of string values',
      ),
      v.maxEntries(
        JOB_LIMITS.metadataEntries,
        `at most ${JOB_LIMITS.metadataEntries} metadata entries`,
      ),
    ),
  ),
};

const JOB_INPUT_SCHEMA = v.object(ROOT_ENTRIES, 'a job must be an object');

type ParsedInput = v.InferOutput<typeof JOB_INPUT_SCHEMA>;

/** Which keys each object location accepts (derived from the schemas so they cannot drift). */
const KNOWN_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  '': new Set(Object.keys(ROOT_ENTRIES)),
  schedule: new Set(Object.keys(SCHEDULE_ENTRIES)),
  request: new Set(Object.keys(REQUEST_ENTRIES)),
  callback: new Set(Object.keys(CALLBACK_ENTRIES)),
  retryPolicy: new Set(Object.keys(RETRY_ENTRIES)),
  missedRuns: new Set(Object.keys(MISSED_ENTRIES)),
};
const RECORD_LOCATIONS = ['request.headers', 'callback.headers', 'metadata'] as const;

/** A location of the input: its dotted path and that path's keys (split once, not per job). */
interface Location {
  readonly path: string;
  readonly keys: readonly string[];
}

function location(path: string): Location {
  return { path, keys: path === '' ? [] : path.split('.') };
}

const OBJECT_LOCATIONS: ReadonlyArray<Location & { readonly known: ReadonlySet<string> }> =
  Object.entries(KNOWN_KEYS).map(([path, known]) => ({ ...location(path), known }));
const RECORD_LOCATION_KEYS: readonly Location[] = RECORD_LOCATIONS.map(location);

// ---------------------------------------------------------------------------------------------
// Parsing

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function child(value: unknown, path: string): unknown {
  return childAt(value, path.split('.'));
}

function childAt(value: unknown, keys: readonly string[]): unknown {
  let current: unknown = value;
  for (const key of keys) {
    if (!isPlainObject(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Reports unknown keys (typos such as `retry_policy`) and prototype-polluting keys
 * (`__proto__`, `constructor`, `prototype`) with their paths; valibot strips or skips those
 * silently.
 */
function scanKeys(input: unknown, issues: JobIssue[]): void {
  for (const { path, keys, known } of OBJECT_LOCATIONS) {
    const value = childAt(input, keys);
    if (Array.isArray(value)) {
      issues.push({
        path,
        message: `${path === '' ? 'a job' : path} must be an object, not an array`,
      });
      continue;
    }
    if (!isPlainObject(value)) continue;
    for (const key of Object.keys(value)) {
      if (known.has(key)) continue;
      issues.push({
        path: join(path, key),
        message: FORBIDDEN_KEYS.has(key) ? `key "${key}" is not allowed` : `unknown field "${key}"`,
      });
      if (issues.length >= MAX_ISSUES) return;
    }
  }
  for (const { path, keys } of RECORD_LOCATION_KEYS) {
    const value = childAt(input, keys);
    if (!isPlainObject(value)) continue;
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key))
        issues.push({ path: join(path, key), message: `key "${key}" is not allowed` });
    }
  }
}

function issuePath(issue: v.BaseIssue<unknown>): string {
  if (issue.path === undefined) return '';
  return issue.path
    .map((item) =>
      typeof item.key === 'string' || typeof item.key === 'number' ? String(item.key) : '?',
    )
    .join('.');
}

function hasIssueUnder(issues: readonly JobIssue[], ...paths: string[]): boolean {
  return issues.some((issue) =>
    paths.some(
      (path) => issue.path === path || issue.path.startsWith(`${path}.`) || issue.path === '',
    ),
  );
}

/** Checks that span several fields, on the parts valibot accepted. */
function crossChecks(output: Partial<ParsedInput>, input: unknown, issues: JobIssue[]): void {
  const schedule = output.schedule;
  if (schedule !== undefined && isPlainObject(schedule) && !hasIssueUnder(issues, 'schedule')) {
    const given = (['every', 'cron', 'at'] as const).filter((key) => schedule[key] !== undefined);
    if (given.length !== 1) {
      issues.push({
        path: 'schedule',
        message:
          given.length === 0
            ? 'give one of schedule.every, schedule.cron or schedule.at'
            : `give only one of schedule.every, schedule.cron or schedule.at (got ${given.join(', ')})`,
      });
    } else if (schedule.at !== undefined) {
      for (const key of ['startAt', 'endAt', 'maxRuns', 'timezone'] as const) {
        if (schedule[key] !== undefined && schedule[key] !== null) {
          issues.push({
            path: `schedule.${key}`,
            message: `schedule.${key} cannot be combined with schedule.at`,
          });
        }
      }
    } else if (schedule.every !== undefined && schedule.timezone !== undefined) {
      issues.push({
        path: 'schedule.timezone',
        message: 'schedule.timezone applies only to cron schedules',
      });
    }
  }
  if (
    schedule !== undefined &&
    isPlainObject(schedule) &&
    typeof schedule.cron === 'string' &&
    !hasIssueUnder(issues, 'schedule.cron', 'schedule.timezone')
  ) {
    const problem = checkCron(schedule.cron, schedule.timezone ?? JOB_DEFAULTS.timezone);
    if (problem !== null) {
      issues.push({
        path: problem.startsWith('unknown IANA') ? 'schedule.timezone' : 'schedule.cron',
        message: problem,
      });
    }
  }
  if (
    schedule !== undefined &&
    isPlainObject(schedule) &&
    !hasIssueUnder(issues, 'schedule.startAt', 'schedule.endAt')
  ) {
    const { startAt, endAt } = schedule;
    if (typeof startAt === 'number' && typeof endAt === 'number' && endAt < startAt) {
      issues.push({ path: 'schedule.endAt', message: 'schedule.endAt precedes schedule.startAt' });
    }
  }

  const request = output.request;
  if (request !== undefined && !hasIssueUnder(issues, 'request.method', 'request.body')) {
    const method = request.method ?? JOB_DEFAULTS.method;
    if (
      (method === 'GET' || method === 'HEAD') &&
      request.body !== undefined &&
      request.body !== null
    ) {
      issues.push({ path: 'request.body', message: `a ${method} request cannot have a body` });
    }
  }

  const retry = output.retryPolicy;
  if (retry !== undefined && !hasIssueUnder(issues, 'retryPolicy.retrier')) {
    if (typeof retry.retrier === 'string') {
      const rawRetry = child(input, 'retryPolicy');
      const delayKeys = [
        'maxRetries',
        'interval',
        'backoff',
        'backoffFactor',
        'jitter',
        'jitterStrategy',
        'maxDelay',
        'timeout',
        'maxRetryAfter',
      ];
      const clashing = delayKeys.filter(
        (key) => isPlainObject(rawRetry) && rawRetry[key] !== undefined,
      );
      if (clashing.length > 0) {
        issues.push({
          path: 'retryPolicy.retrier',
          message: `a named retrier cannot be combined with ${clashing.join(', ')} (set them on the retrier)`,
        });
      }
    }
  }

  if (retry !== undefined && isPlainObject(retry) && !hasIssueUnder(issues, 'retryPolicy')) {
    retryChecks(retry, issues);
  }

  const missed = output.missedRuns;
  if (typeof missed === 'object' && missed !== null && !hasIssueUnder(issues, 'missedRuns')) {
    if (missed.policy !== 'run-all' && missed.limit !== undefined) {
      issues.push({
        path: 'missedRuns.limit',
        message: 'missedRuns.limit applies only to run-all',
      });
    }
  }
}

/**
 * Combinations `@again/retry` refuses; checked here so a stored policy always builds a retrier.
 */
function retryChecks(retry: NonNullable<ParsedInput['retryPolicy']>, issues: JobIssue[]): void {
  const defaults = JOB_DEFAULTS.retry;
  const strategy = retry.jitterStrategy ?? defaults.jitterStrategy;
  const backoff = retry.backoff ?? defaults.backoff;
  const interval = retry.interval ?? defaults.interval;
  const add = (key: string, message: string): void => {
    issues.push({ path: `retryPolicy.${key}`, message });
  };
  if (retry.jitter !== undefined && retry.jitter > 0 && strategy !== 'additive') {
    add(
      'jitter',
      `retryPolicy.jitter applies only to the additive jitter strategy, not ${strategy}`,
    );
  }
  if (retry.backoffFactor !== undefined && backoff !== 'exponential') {
    add(
      'backoffFactor',
      `retryPolicy.backoffFactor applies only to exponential backoff, not ${backoff}`,
    );
  }
  if (strategy === 'decorrelated') {
    if (retry.backoff !== undefined || retry.backoffFactor !== undefined) {
      add(
        'jitterStrategy',
        'decorrelated jitter grows delays itself: omit backoff and backoffFactor',
      );
    }
    if (interval === 0)
      add('interval', 'retryPolicy.interval must be > 0 with decorrelated jitter');
  }
  const maxDelay = retry.maxDelay ?? defaults.maxDelay;
  if (maxDelay < interval)
    add('maxDelay', `retryPolicy.maxDelay must be >= interval (${interval})`);
  const timeout = retry.timeout ?? defaults.timeout;
  const maxRetries = retry.maxRetries ?? defaults.maxRetries;
  if (maxRetries > 0 && timeout > 0 && interval >= timeout) {
    add('interval', `retryPolicy.interval must be shorter than retryPolicy.timeout (${timeout})`);
  }
}

function normaliseSchedule(schedule: ParsedInput['schedule']): ScheduleSpec {
  if (schedule.at !== undefined) return { kind: 'once', at: schedule.at };
  const window = {
    startAt: schedule.startAt ?? null,
    endAt: schedule.endAt ?? null,
    maxRuns: schedule.maxRuns ?? JOB_DEFAULTS.maxRuns,
  };
  if (schedule.cron !== undefined) {
    return {
      kind: 'cron',
      expression: schedule.cron.trim(),
      timezone: schedule.timezone ?? JOB_DEFAULTS.timezone,
      ...window,
    };
  }
  return { kind: 'interval', every: schedule.every ?? 1, ...window };
}

function lowerCaseHeaders(
  headers: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const result: Record<string, string> = {};
  if (headers === undefined) return result;
  for (const [name, value] of Object.entries(headers)) result[name.toLowerCase()] = value;
  return result;
}

function normalise(parsed: ParsedInput): JobSpec {
  const body = parsed.request.body ?? null;
  const headers = lowerCaseHeaders(parsed.request.headers);
  if (body?.json === true && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/json';
  }
  const callback = parsed.callback ?? null;
  const retry = parsed.retryPolicy ?? {};
  const defaults = JOB_DEFAULTS.retry;
  const jitterStrategy = retry.jitterStrategy ?? defaults.jitterStrategy;
  const missed = parsed.missedRuns ?? JOB_DEFAULTS.missedRuns;
  const missedPolicy = typeof missed === 'string' ? missed : missed.policy;
  const limit = typeof missed === 'object' && 'limit' in missed ? missed.limit : undefined;
  return {
    schedule: normaliseSchedule(parsed.schedule),
    request: {
      method: parsed.request.method ?? JOB_DEFAULTS.method,
      url: parsed.request.url,
      headers,
      body: body === null ? null : body.body,
      bodyEncoding: body === null ? 'utf8' : body.encoding,
      timeout: parsed.request.timeout ?? JOB_DEFAULTS.requestTimeout,
    },
    callback:
      callback === null
        ? null
        : {
            url: callback.url,
            method: callback.method ?? JOB_DEFAULTS.callbackMethod,
            headers: lowerCaseHeaders(callback.headers),
            timeout: callback.timeout ?? JOB_DEFAULTS.callbackTimeout,
            maxBodyBytes: callback.maxBodyBytes ?? JOB_DEFAULTS.maxBodyBytes,
          },
    retry: {
      maxRetries: retry.maxRetries ?? defaults.maxRetries,
      interval: retry.interval ?? defaults.interval,
      backoff: retry.backoff ?? defaults.backoff,
      backoffFactor: retry.backoffFactor ?? defaults.backoffFactor,
      jitter: jitterStrategy === 'additive' ? (retry.jitter ?? defaults.jitter) : 0,
      jitterStrategy,
      maxDelay: retry.maxDelay ?? defaults.maxDelay,
      timeout: retry.timeout ?? defaults.timeout,
      maxRetryAfter: retry.maxRetryAfter ?? defaults.maxRetryAfter,
      retryStatusCodes: [...new Set(retry.retryStatusCodes ?? defaults.retryStatusCodes)].sort(
        (a, b) => a - b,
      ),
      retryNetworkErrors: retry.retryNetworkErrors ?? defaults.retryNetworkErrors,
      retrier: retry.retrier ?? null,
    },
    missedRuns:
      missedPolicy === 'run-all'
        ? { policy: 'run-all', limit: limit ?? JOB_DEFAULTS.runAllLimit }
        : { policy: missedPolicy },
    overlap: parsed.overlap ?? JOB_DEFAULTS.overlap,
    metadata: { ...parsed.metadata },
  };
}

/**
 * Validates and normalises a job definition.
 *
 * Every problem is collected (types, ranges, sizes, unknown keys, cross-field rules such as
 * `endAt >= startAt` or "no body on GET") and reported at once.
 *
 * @param input - the job as the user wrote it (untrusted; any value).
 * @returns the requested id (`undefined` = generate one) and the normalised spec.
 * @throws {@link InvalidJobError} listing every problem with its path.
 * @example
 * ```ts
 * const { id, spec } = parseJob({
 *   id: 'nightly-report',
 *   schedule: { cron: '0 2 * * *', timezone: 'Europe/Paris' },
 *   request: { method: 'POST', url: 'https://example.com/report', body: { full: true } },
 * });
 * ```
 */
export function parseJob(input: unknown): { id: string | undefined; spec: JobSpec } {
  try {
    const issues: JobIssue[] = [];
    scanKeys(input, issues);
    const result = v.safeParse(JOB_INPUT_SCHEMA, input, {
      abortEarly: false,
      abortPipeEarly: true,
    });
    if (result.issues !== undefined) {
      for (const issue of result.issues) {
        const path = issuePath(issue);
        const missingKey =
          issue.kind === 'schema' && issue.type === 'object' && issue.expected?.startsWith('"');
        issues.push({ path, message: missingKey === true ? `${path} is required` : issue.message });
      }
    }
    if (isPlainObject(result.output)) {
      crossChecks(result.output as Partial<ParsedInput>, input, issues);
    }
    if (issues.length > 0 || !result.success) {
      throw new InvalidJobError(
        limitIssues(issues.length > 0 ? issues : [{ path: '', message: 'invalid job' }]),
      );
    }
    return { id: result.output.id, spec: normalise(result.output) };
  } catch (error) {
    if (error instanceof InvalidJobError) throw error;
    // Hostile input (throwing getters, proxies, stack-busting nesting) must still surface as
    // a typed validation error.
    throw new InvalidJobError([{ path: '', message: 'the job could not be read' }], {
      cause: error,
    });
  }
}

function limitIssues(issues: JobIssue[]): JobIssue[] {
  if (issues.length <= MAX_ISSUES) return issues;
  return [
    ...issues.slice(0, MAX_ISSUES),
    { path: '', message: `${issues.length - MAX_ISSUES} more problems not listed` },
  ];
}

// ---------------------------------------------------------------------------------------------
// Re-reading stored specs

const stringRecord = v.record(v.string(), v.string());
const nullableTime = v.nullable(
  v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_TIME)),
);
const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));

const SPEC_SCHEMA = v.object({
  schedule: v.variant('kind', [
    v.object({
      kind: v.literal('interval'),
      every: v.pipe(nonNegativeInt, v.minValue(1)),
      startAt: nullableTime,
      endAt: nullableTime,
      maxRuns: nonNegativeInt,
    }),
    v.object({
      kind: v.literal('cron'),
      expression: v.pipe(v.string(), v.minLength(1)),
      timezone: v.pipe(v.string(), v.minLength(1)),
      startAt: nullableTime,
      endAt: nullableTime,
      maxRuns: nonNegativeInt,
    }),
    v.object({ kind: v.literal('once'), at: v.pipe(nonNegativeInt, v.maxValue(MAX_TIME)) }),
  ]),
  request: v.object({
    method: v.picklist(HTTP_METHODS),
    url: v.pipe(v.string(), v.url()),
    headers: stringRecord,
    body: v.nullable(v.string()),
    bodyEncoding: v.picklist(['utf8', 'base64'] as const),
    timeout: nonNegativeInt,
  }),
  callback: v.nullable(
    v.object({
      url: v.pipe(v.string(), v.url()),
      method: v.picklist(CALLBACK_METHODS),
      headers: stringRecord,
      timeout: nonNegativeInt,
      maxBodyBytes: nonNegativeInt,
    }),
  ),
  retry: v.object({
    maxRetries: nonNegativeInt,
    interval: nonNegativeInt,
    backoff: v.picklist(['exponential', 'linear', 'constant'] as const),
    backoffFactor: v.pipe(v.number(), v.finite(), v.minValue(1)),
    jitter: nonNegativeInt,
    jitterStrategy: v.picklist(['additive', 'none', 'full', 'equal', 'decorrelated'] as const),
    maxDelay: nonNegativeInt,
    timeout: nonNegativeInt,
    maxRetryAfter: nonNegativeInt,
    retryStatusCodes: v.array(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(599))),
    retryNetworkErrors: v.boolean(),
    retrier: v.nullable(v.string()),
  }),
  missedRuns: v.variant('policy', [
    v.object({ policy: v.literal('skip') }),
    v.object({ policy: v.literal('run-once') }),
    v.object({ policy: v.literal('run-all'), limit: nonNegativeInt }),
  ]),
  overlap: v.picklist(['allow', 'skip'] as const),
  metadata: stringRecord,
});

/**
 * Re-reads a spec that {@link parseJob} produced and storage returned, checking its shape.
 *
 * @param spec - `JobRecord.spec` from storage.
 * @returns the typed spec.
 * @throws {@link InvalidJobError} when the stored document is corrupt or from an incompatible version.
 * @example
 * ```ts
 * const spec = specFromRecord(record.spec);
 * ```
 */
export function specFromRecord(spec: JsonObject): JobSpec {
  const result = v.safeParse(SPEC_SCHEMA, spec, { abortEarly: false });
  if (!result.success) {
    throw new InvalidJobError(
      limitIssues(
        result.issues.map((issue) => ({
          path: issuePath(issue),
          message: `stored job spec is corrupt: ${issue.message}`,
        })),
      ),
    );
  }
  return result.output;
}

/**
 * Converts a spec to the JSON object stored as `JobRecord.spec`.
 *
 * @param spec - a spec from {@link parseJob}.
 * @returns the same data typed as `JsonObject`.
 * @example
 * ```ts
 * await store.createJob({ id, spec: specToRecord(spec), ... });
 * ```
 */
export function specToRecord(spec: JobSpec): JsonObject {
  return JSON.parse(JSON.stringify(spec)) as JsonObject;
}
