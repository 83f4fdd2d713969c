/**
 * `parseJob`: validates untrusted job input against the schema, adds the cross-field rules and
 * normalises it into a {@link JobSpec}.
 *
 * @module
 */
import * as v from 'valibot';
import { InvalidJobError, type JobIssue } from './errors.js';
import {
  FORBIDDEN_KEYS,
  isPlainObject,
  issuePath,
  JOB_INPUT_SCHEMA,
  limitIssues,
  MAX_ISSUES,
  OBJECT_LOCATIONS,
  type ParsedJobInput,
  type ParsedRetryPolicyInput,
  RECORD_LOCATION_KEYS,
} from './job-schema.js';
import { JOB_DEFAULTS, type JobSpec, type RetryPolicySpec } from './job-types.js';
import { type RetryPolicyPath, retryPolicyIssue } from './policy-retriers.js';
import { checkCron, type ScheduleSpec } from './schedule.js';

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

function hasIssueUnder(issues: readonly JobIssue[], ...paths: string[]): boolean {
  return issues.some((issue) =>
    paths.some(
      (path) => issue.path === path || issue.path.startsWith(`${path}.`) || issue.path === '',
    ),
  );
}

/** The delay fields a named retrier replaces (it carries its own). */
const DELAY_KEYS = [
  'maxRetries',
  'interval',
  'backoff',
  'backoffFactor',
  'jitter',
  'jitterStrategy',
  'maxDelay',
  'timeout',
  'maxRetryAfter',
] as const;

/**
 * The cross-field rules of one retry policy (the job's or the callback's): a named retrier takes
 * no delay fields, and a data-defined policy must be one `@again/retry` accepts.
 */
function checkRetryPolicy(
  retry: ParsedRetryPolicyInput | undefined,
  raw: unknown,
  at: RetryPolicyPath,
  issues: JobIssue[],
): void {
  if (retry === undefined || !isPlainObject(retry)) return;
  if (typeof retry.retrier === 'string') {
    if (hasIssueUnder(issues, `${at}.retrier`)) return;
    const clashing = DELAY_KEYS.filter((key) => isPlainObject(raw) && raw[key] !== undefined);
    if (clashing.length > 0) {
      issues.push({
        path: `${at}.retrier`,
        message: `a named retrier cannot be combined with ${clashing.join(', ')} (set them on the retrier)`,
      });
    }
    return;
  }
  if (hasIssueUnder(issues, at)) return;
  // Combinations `@again/retry` refuses, checked by it, so a stored policy always builds.
  const issue = retryPolicyIssue(retry, at);
  if (issue !== null) issues.push(issue);
}

/** Checks that span several fields, on the parts valibot accepted. */
function crossChecks(output: Partial<ParsedJobInput>, input: unknown, issues: JobIssue[]): void {
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

  checkRetryPolicy(output.retryPolicy, child(input, 'retryPolicy'), 'retryPolicy', issues);
  const callback = output.callback;
  if (isPlainObject(callback)) {
    checkRetryPolicy(
      callback.retryPolicy,
      child(input, 'callback.retryPolicy'),
      'callback.retryPolicy',
      issues,
    );
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

function normaliseSchedule(schedule: ParsedJobInput['schedule']): ScheduleSpec {
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

/**
 * A retry policy with its defaults applied. The `'additive'` strategy's jitter defaults to the
 * job's (`JOB_DEFAULTS.retry.jitter`) wherever it is chosen; other strategies take none.
 */
function normaliseRetry(
  input: ParsedRetryPolicyInput | undefined,
  defaults: RetryPolicySpec,
): RetryPolicySpec {
  const retry = input ?? {};
  const jitterStrategy = retry.jitterStrategy ?? defaults.jitterStrategy;
  return {
    maxRetries: retry.maxRetries ?? defaults.maxRetries,
    interval: retry.interval ?? defaults.interval,
    backoff: retry.backoff ?? defaults.backoff,
    backoffFactor: retry.backoffFactor ?? defaults.backoffFactor,
    jitter: jitterStrategy === 'additive' ? (retry.jitter ?? JOB_DEFAULTS.retry.jitter) : 0,
    jitterStrategy,
    maxDelay: retry.maxDelay ?? defaults.maxDelay,
    timeout: retry.timeout ?? defaults.timeout,
    maxRetryAfter: retry.maxRetryAfter ?? defaults.maxRetryAfter,
    retryStatusCodes: [...new Set(retry.retryStatusCodes ?? defaults.retryStatusCodes)].sort(
      (a, b) => a - b,
    ),
    retryNetworkErrors: retry.retryNetworkErrors ?? defaults.retryNetworkErrors,
    retrier: retry.retrier ?? null,
  };
}

function normalise(parsed: ParsedJobInput): JobSpec {
  const body = parsed.request.body ?? null;
  const headers = lowerCaseHeaders(parsed.request.headers);
  if (body?.json === true && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/json';
  }
  const callback = parsed.callback ?? null;
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
      signWith: parsed.request.signWith ?? null,
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
            signWith: callback.signWith ?? null,
            retry: normaliseRetry(callback.retryPolicy, JOB_DEFAULTS.callbackRetry),
          },
    retry: normaliseRetry(parsed.retryPolicy, JOB_DEFAULTS.retry),
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
      crossChecks(result.output as Partial<ParsedJobInput>, input, issues);
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
