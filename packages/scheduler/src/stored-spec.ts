/**
 * Specs as storage keeps them: `specToRecord` writes a {@link JobSpec} as JSON, `specFromRecord`
 * re-reads one and checks its shape (a corrupt or foreign document is refused, never trusted).
 *
 * @module
 */
import type { JsonObject } from '@again/storage';
import * as v from 'valibot';
import { InvalidJobError } from './errors.js';
import { issuePath, limitIssues } from './job-schema.js';
import {
  CALLBACK_METHODS,
  HTTP_METHODS,
  JOB_DEFAULTS,
  type JobSpec,
  type RetryPolicySpec,
} from './job-types.js';
import { MAX_TIME } from './schedule.js';

const stringRecord = v.record(v.string(), v.string());
const nullableTime = v.nullable(
  v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_TIME)),
);
const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
// Specs stored before signed deliveries existed have no `signWith`: they are unsigned.
const signWith = v.optional(v.nullable(v.pipe(v.string(), v.minLength(1))), null);

const RETRY_SCHEMA = v.object({
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
});

/** A fresh copy of the callback defaults, so no two loaded specs share one object. */
function callbackRetryDefaults(): RetryPolicySpec {
  const defaults = JOB_DEFAULTS.callbackRetry;
  return { ...defaults, retryStatusCodes: [...defaults.retryStatusCodes] };
}

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
    signWith: signWith,
  }),
  callback: v.nullable(
    v.object({
      url: v.pipe(v.string(), v.url()),
      method: v.picklist(CALLBACK_METHODS),
      headers: stringRecord,
      timeout: nonNegativeInt,
      maxBodyBytes: nonNegativeInt,
      signWith: signWith,
      // Specs stored before callbacks were retried have no `retry`: they get the defaults.
      retry: v.optional(RETRY_SCHEMA, callbackRetryDefaults),
    }),
  ),
  retry: RETRY_SCHEMA,
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
