/**
 * The valibot schema of a job as a user writes it, and where its objects and records are (for
 * the unknown-key scan). Cross-field rules live in `parse-job.ts`.
 *
 * @module
 */
import * as v from 'valibot';
import type { JobIssue } from './errors.js';
import {
  type BackoffStrategy,
  CALLBACK_METHODS,
  type CallbackMethod,
  HTTP_METHODS,
  type HttpMethod,
  type JitterStrategy,
  JOB_LIMITS,
  type OverlapPolicy,
} from './job-types.js';
import { MAX_TIME } from './schedule.js';

/** Headers the scheduler sets itself or that fetch forbids; a job may not set them. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'idempotency-key',
  'x-again-scheduled-at',
  'x-again-attempt',
  // Standard Webhooks signatures (see signing.ts): reserved on unsigned jobs too, so a receiver
  // never sees a signature the scheduler did not make.
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
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

/**
 * Keys that would pollute prototypes; refused wherever they appear.
 *
 * @example
 * ```ts
 * FORBIDDEN_KEYS.has('__proto__'); // true
 * ```
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Latin-1 without control characters (tab allowed): what fetch's Headers accepts.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;
/**
 * Most issues one `InvalidJobError` lists; the rest are counted.
 *
 * @example
 * ```ts
 * limitIssues(issues).length <= MAX_ISSUES + 1; // true
 * ```
 */
export const MAX_ISSUES = 100;

// ---------------------------------------------------------------------------------------------
// Valibot schemas of the user input

/** `-0` as `0`: JSON stores `-0` as `0`, and a spec must read back equal to what was stored. */
const positiveZero = (value: number): number => (value === 0 ? 0 : value);

const duration = (label: string, min = 0) =>
  v.pipe(
    v.number(`${label} must be a number of milliseconds`),
    v.integer(`${label} must be a whole number of milliseconds`),
    v.minValue(min, `${label} must be >= ${min}`),
    v.maxValue(JOB_LIMITS.maxTimeout, `${label} must be <= ${JOB_LIMITS.maxTimeout} ms`),
    v.transform(positiveZero),
  );

const count = (label: string, max: number) =>
  v.pipe(
    v.number(`${label} must be a number`),
    v.integer(`${label} must be a whole number`),
    v.minValue(0, `${label} must be >= 0`),
    v.maxValue(max, `${label} must be <= ${max}`),
    v.transform(positiveZero),
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
  return positiveZero(time);
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

const headersMessage = (label: string): string =>
  `${label}s must be an object of name: value strings, a Headers object or [name, value] pairs`;

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
      headersMessage(label),
    ),
    v.maxEntries(JOB_LIMITS.headerCount, `at most ${JOB_LIMITS.headerCount} ${label}s`),
    v.check(
      (headers) =>
        new Set(Object.keys(headers).map((name) => name.toLowerCase())).size ===
        Object.keys(headers).length,
      `${label} names must be unique ignoring case`,
    ),
  );

/**
 * Turns a `Headers` object or an array of `[name, value]` pairs into the plain object the
 * record schema checks (a plain object or a primitive passes through unchanged; any other object,
 * a `Map` say, is refused). A name
 * given twice (ignoring case) and a prototype key are refused here, where the pairs are still
 * visible: an object built from them would lose the repeat, and valibot's record skips such keys.
 */
const headerPairs = (label: string) =>
  v.rawTransform<unknown, unknown>(({ dataset, addIssue, NEVER }) => {
    const value = dataset.value;
    let pairs: Array<readonly [string, string]>;
    if (value instanceof Headers) {
      pairs = [...value];
    } else if (Array.isArray(value)) {
      if (value.length > JOB_LIMITS.headerCount) {
        addIssue({ message: `at most ${JOB_LIMITS.headerCount} ${label}s` });
        return NEVER;
      }
      pairs = [];
      for (const [index, pair] of value.entries()) {
        if (
          !Array.isArray(pair) ||
          pair.length !== 2 ||
          typeof pair[0] !== 'string' ||
          typeof pair[1] !== 'string'
        ) {
          addIssue({
            message: `${label}s given as an array must be [name, value] pairs of strings`,
            path: [{ type: 'unknown', origin: 'value', input: value, key: index, value: pair }],
          });
        } else {
          pairs.push([pair[0], pair[1]]);
        }
      }
    } else if (typeof value === 'object' && value !== null && !isPlainObject(value)) {
      // valibot's record would read a Map or a class instance as an empty object: refuse it.
      addIssue({ message: headersMessage(label) });
      return NEVER;
    } else {
      return value;
    }
    const seen = new Set<string>();
    for (const [name] of pairs) {
      const key = name.toLowerCase();
      const path: [v.IssuePathItem] = [
        { type: 'unknown', origin: 'value', input: value, key: name, value: undefined },
      ];
      if (FORBIDDEN_KEYS.has(name)) addIssue({ message: `key "${name}" is not allowed`, path });
      else if (seen.has(key)) {
        addIssue({ message: `${label} names must be unique ignoring case`, path });
      }
      seen.add(key);
    }
    if (dataset.issues !== undefined) return NEVER;
    // Own data properties (never a prototype), in the given order.
    return Object.fromEntries(pairs);
  });

const headersSchema = (label: string) =>
  v.pipe(v.unknown(), headerPairs(label), headerRecord(label));

const signWithSchema = (label: string) =>
  v.nullish(
    v.pipe(
      v.string(`${label} must be the name of a signing secret registered on the scheduler`),
      v.minLength(1, `${label} must not be empty`),
      v.maxLength(128, `${label} is too long`),
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

/**
 * A request body as the schema outputs it: text or base64, and whether it came as JSON.
 *
 * @example
 * ```ts
 * const body: BodyValue = { body: '{"a":1}', encoding: 'utf8', json: true };
 * ```
 */
export interface BodyValue {
  readonly body: string;
  readonly encoding: 'utf8' | 'base64';
  readonly json: boolean;
}

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
  headers: v.optional(headersSchema('request header')),
  body: v.optional(bodySchema),
  timeout: v.optional(duration('request.timeout')),
  signWith: signWithSchema('request.signWith'),
};

/**
 * The entries of a retry policy, with messages naming where it is (`retryPolicy` for the job's,
 * `callback.retryPolicy` for the callback's): one schema, so both follow the same rules.
 */
const retryEntries = (prefix: string) => ({
  maxRetries: v.optional(count(`${prefix}.maxRetries`, JOB_LIMITS.maxRetries)),
  interval: v.optional(duration(`${prefix}.interval`)),
  backoff: v.optional(
    v.picklist(
      ['exponential', 'linear', 'constant'] as const,
      `${prefix}.backoff must be one of exponential, linear, constant`,
    ),
  ),
  backoffFactor: v.optional(
    v.pipe(
      v.number(`${prefix}.backoffFactor must be a number`),
      v.finite(`${prefix}.backoffFactor must be finite`),
      v.minValue(1, `${prefix}.backoffFactor must be >= 1`),
      v.maxValue(100, `${prefix}.backoffFactor must be <= 100`),
    ),
  ),
  jitter: v.optional(duration(`${prefix}.jitter`)),
  jitterStrategy: v.optional(
    v.picklist(
      ['additive', 'none', 'full', 'equal', 'decorrelated'] as const,
      `${prefix}.jitterStrategy must be one of additive, none, full, equal, decorrelated`,
    ),
  ),
  maxDelay: v.optional(duration(`${prefix}.maxDelay`)),
  timeout: v.optional(duration(`${prefix}.timeout`)),
  maxRetryAfter: v.optional(duration(`${prefix}.maxRetryAfter`)),
  retryStatusCodes: v.optional(
    v.pipe(
      v.array(
        v.pipe(
          v.number(`${prefix}.retryStatusCodes must hold numbers`),
          v.integer(`${prefix}.retryStatusCodes must hold whole numbers`),
          v.minValue(100, `${prefix}.retryStatusCodes must hold statuses 100..599`),
          v.maxValue(599, `${prefix}.retryStatusCodes must hold statuses 100..599`),
          v.check(
            (code) => code < 200 || code > 299,
            `${prefix}.retryStatusCodes: 2xx statuses are successes, not retryable`,
          ),
        ),
        `${prefix}.retryStatusCodes must be an array of status codes`,
      ),
      v.maxLength(
        JOB_LIMITS.retryStatusCodes,
        `${prefix}.retryStatusCodes must hold at most ${JOB_LIMITS.retryStatusCodes} statuses`,
      ),
    ),
  ),
  retryNetworkErrors: v.optional(v.boolean(`${prefix}.retryNetworkErrors must be a boolean`)),
  retrier: v.nullish(
    v.pipe(
      v.string(`${prefix}.retrier must be the name of a registered retrier`),
      v.minLength(1, `${prefix}.retrier must not be empty`),
      v.maxLength(128, `${prefix}.retrier is too long`),
    ),
  ),
});

const RETRY_ENTRIES = retryEntries('retryPolicy');

const CALLBACK_RETRY_ENTRIES = retryEntries('callback.retryPolicy');

const CALLBACK_ENTRIES = {
  url: urlSchema('callback.url'),
  method: v.optional(methodSchema('callback.method', CALLBACK_METHODS)),
  headers: v.optional(headersSchema('callback header')),
  timeout: v.optional(duration('callback.timeout')),
  maxBodyBytes: v.optional(count('callback.maxBodyBytes', JOB_LIMITS.maxBodyBytes)),
  signWith: signWithSchema('callback.signWith'),
  retryPolicy: v.optional(
    v.object(CALLBACK_RETRY_ENTRIES, 'callback.retryPolicy must be an object'),
  ),
};

const MISSED_ENTRIES = {
  policy: v.picklist(
    ['skip', 'run-once', 'run-all'] as const,
    'missedRuns.policy must be skip, run-once or run-all',
  ),
  limit: v.optional(count('missedRuns.limit', JOB_LIMITS.runAllLimit)),
};

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What a job id may be: 1 to 256 characters of well-formed text, not blank, without control
 * characters (so it fits every store and every header).
 */
export const JOB_ID_SCHEMA: v.SchemaWithPipe<
  readonly [
    v.StringSchema<'id must be a string'>,
    v.MinLengthAction<string, 1, 'id must not be empty'>,
    v.MaxLengthAction<string, number, string>,
    v.CheckAction<string, string>,
    v.CheckAction<string, string>,
    v.CheckAction<string, 'id must not be blank'>,
  ]
> = v.pipe(
  v.string('id must be a string'),
  v.minLength(1, 'id must not be empty'),
  v.maxLength(JOB_LIMITS.idLength, `id must be at most ${JOB_LIMITS.idLength} characters`),
  v.check((id) => !CONTROL_CHARS.test(id), 'id must not contain control characters'),
  v.check((id) => !LONE_SURROGATE.test(id), 'id must not contain a lone surrogate'),
  v.check((id) => id.trim().length > 0, 'id must not be blank'),
);

const ROOT_ENTRIES = {
  id: v.optional(JOB_ID_SCHEMA),
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

/**
 * `schedule` as the schema outputs it (times as epoch ms).
 *
 * @example
 * ```ts
 * const schedule: ParsedScheduleInput = { every: 60_000, startAt: 1_767_225_600_000 };
 * ```
 */
export type ParsedScheduleInput = {
  readonly every?: number | undefined;
  readonly cron?: string | undefined;
  readonly timezone?: string | undefined;
  readonly at?: number | undefined;
  readonly startAt?: number | null | undefined;
  readonly endAt?: number | null | undefined;
  readonly maxRuns?: number | undefined;
};

/**
 * `request` as the schema outputs it (URL normalised, method upper-case, body encoded).
 *
 * @example
 * ```ts
 * const request: ParsedRequestInput = { method: 'POST', url: 'https://example.com/' };
 * ```
 */
export type ParsedRequestInput = {
  readonly method?: HttpMethod | undefined;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly body?: BodyValue | null | undefined;
  readonly timeout?: number | undefined;
  readonly signWith?: string | null | undefined;
};

/**
 * `callback` as the schema outputs it.
 *
 * @example
 * ```ts
 * const callback: ParsedCallbackInput = { url: 'https://example.com/cb', timeout: 5_000 };
 * ```
 */
export type ParsedCallbackInput = {
  readonly url: string;
  readonly method?: CallbackMethod | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly timeout?: number | undefined;
  readonly maxBodyBytes?: number | undefined;
  readonly signWith?: string | null | undefined;
  readonly retryPolicy?: ParsedRetryPolicyInput | undefined;
};

/**
 * `retryPolicy` (the job's or the callback's) as the schema outputs it (each field checked on
 * its own).
 *
 * @example
 * ```ts
 * const retry: ParsedRetryPolicyInput = { maxRetries: 3, jitterStrategy: 'full' };
 * ```
 */
export type ParsedRetryPolicyInput = {
  readonly maxRetries?: number | undefined;
  readonly interval?: number | undefined;
  readonly backoff?: BackoffStrategy | undefined;
  readonly backoffFactor?: number | undefined;
  readonly jitter?: number | undefined;
  readonly jitterStrategy?: JitterStrategy | undefined;
  readonly maxDelay?: number | undefined;
  readonly timeout?: number | undefined;
  readonly maxRetryAfter?: number | undefined;
  readonly retryStatusCodes?: readonly number[] | undefined;
  readonly retryNetworkErrors?: boolean | undefined;
  readonly retrier?: string | null | undefined;
};

/**
 * A job as {@link JOB_INPUT_SCHEMA} outputs it: every field checked on its own, before the
 * cross-field rules and normalisation of `parseJob`. Written out (not inferred) so the module's
 * declarations stay explicit; the schema below must produce exactly this.
 *
 * @example
 * ```ts
 * const result = v.safeParse(JOB_INPUT_SCHEMA, input, { abortEarly: false });
 * if (result.success) use(result.output); // a ParsedJobInput
 * ```
 */
export type ParsedJobInput = {
  readonly id?: string | undefined;
  readonly schedule: ParsedScheduleInput;
  readonly request: ParsedRequestInput;
  readonly callback?: ParsedCallbackInput | null | undefined;
  readonly retryPolicy?: ParsedRetryPolicyInput | undefined;
  readonly missedRuns?:
    | 'skip'
    | 'run-once'
    | 'run-all'
    | {
        readonly policy: 'skip' | 'run-once' | 'run-all';
        readonly limit?: number | undefined;
      }
    | undefined;
  readonly overlap?: OverlapPolicy | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
};

/**
 * The valibot schema of a job input (run it with `abortEarly: false`).
 *
 * @example
 * ```ts
 * const result = v.safeParse(JOB_INPUT_SCHEMA, input, { abortEarly: false, abortPipeEarly: true });
 * ```
 */
export const JOB_INPUT_SCHEMA: v.GenericSchema<unknown, ParsedJobInput> = v.object(
  ROOT_ENTRIES,
  'a job must be an object',
);

/** Which keys each object location accepts (derived from the schemas so they cannot drift). */
const KNOWN_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  '': new Set(Object.keys(ROOT_ENTRIES)),
  schedule: new Set(Object.keys(SCHEDULE_ENTRIES)),
  request: new Set(Object.keys(REQUEST_ENTRIES)),
  callback: new Set(Object.keys(CALLBACK_ENTRIES)),
  'callback.retryPolicy': new Set(Object.keys(CALLBACK_RETRY_ENTRIES)),
  retryPolicy: new Set(Object.keys(RETRY_ENTRIES)),
  missedRuns: new Set(Object.keys(MISSED_ENTRIES)),
};
const RECORD_LOCATIONS = ['request.headers', 'callback.headers', 'metadata'] as const;

/**
 * A location of the input: its dotted path and that path's keys (split once, not per job).
 *
 * @example
 * ```ts
 * const where: Location = { path: 'request.headers', keys: ['request', 'headers'] };
 * ```
 */
export interface Location {
  readonly path: string;
  readonly keys: readonly string[];
}

function location(path: string): Location {
  return { path, keys: path === '' ? [] : path.split('.') };
}

/**
 * Every object of the input whose keys are checked against the schema, with its known keys.
 *
 * @example
 * ```ts
 * for (const { path, known } of OBJECT_LOCATIONS) console.log(path, [...known]);
 * ```
 */
export const OBJECT_LOCATIONS: ReadonlyArray<Location & { readonly known: ReadonlySet<string> }> =
  Object.entries(KNOWN_KEYS).map(([path, known]) => ({ ...location(path), known }));
/**
 * Every free-form record of the input (headers, metadata): only prototype keys are refused.
 *
 * @example
 * ```ts
 * RECORD_LOCATION_KEYS.map((location) => location.path); // ['request.headers', 'callback.headers', 'metadata']
 * ```
 */
export const RECORD_LOCATION_KEYS: readonly Location[] = RECORD_LOCATIONS.map(location);

// ---------------------------------------------------------------------------------------------
// Helpers shared by parse-job.ts and stored-spec.ts

/**
 * Whether `value` is a plain object (prototype `Object.prototype` or `null`).
 *
 * @example
 * ```ts
 * isPlainObject({ a: 1 }); // true
 * isPlainObject(new Date()); // false
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The dotted path of a valibot issue, e.g. `request.headers.X-A` (`''` = the root).
 *
 * @example
 * ```ts
 * issuePath(issue); // 'request.headers.X-A'
 * ```
 */
export function issuePath(issue: v.BaseIssue<unknown>): string {
  if (issue.path === undefined) return '';
  return issue.path
    .map((item) =>
      typeof item.key === 'string' || typeof item.key === 'number' ? String(item.key) : '?',
    )
    .join('.');
}

/**
 * At most {@link MAX_ISSUES} issues, plus one that counts the rest.
 *
 * @example
 * ```ts
 * throw new InvalidJobError(limitIssues(issues));
 * ```
 */
export function limitIssues(issues: JobIssue[]): JobIssue[] {
  if (issues.length <= MAX_ISSUES) return issues;
  return [
    ...issues.slice(0, MAX_ISSUES),
    { path: '', message: `${issues.length - MAX_ISSUES} more problems not listed` },
  ];
}
