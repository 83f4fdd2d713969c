/**
 * Type tests of the job input types, checked by `tsc` (the package's `typecheck` script covers
 * `src/`): every `@ts-expect-error` line must be an error, every other line must compile.
 */
import { expectTypeOf } from 'vitest';
import type {
  CallbackInput,
  CallbackMethodInput,
  CronScheduleInput,
  HeadersInput,
  HttpMethodInput,
  IntervalScheduleInput,
  JobInput,
  OnceScheduleInput,
  RequestInput,
  RetryPolicyInput,
  ScheduleInput,
} from './job-types.js';

const url = 'https://example.com/';

// ---- Schedules: a discriminated union --------------------------------------------------------

expectTypeOf<ScheduleInput>().toEqualTypeOf<
  IntervalScheduleInput | CronScheduleInput | OnceScheduleInput
>();

const interval: ScheduleInput = { every: 60_000, startAt: new Date(), endAt: null, maxRuns: 3 };
const cron: ScheduleInput = { cron: '0 9 * * 1-5', timezone: 'Europe/Paris', maxRuns: 0 };
const once: ScheduleInput = { at: '2026-03-01T08:00:00Z' };
void [interval, cron, once];

// @ts-expect-error an interval and a one-off at once
const everyAndAt: ScheduleInput = { every: 1_000, at: Date.now() };
// @ts-expect-error an interval and a cron expression at once
const everyAndCron: ScheduleInput = { every: 1_000, cron: '* * * * *' };
// @ts-expect-error a cron expression and a one-off at once
const cronAndAt: ScheduleInput = { cron: '* * * * *', at: 0 };
// @ts-expect-error a time zone belongs to cron schedules only
const intervalWithZone: ScheduleInput = { every: 1_000, timezone: 'UTC' };
// @ts-expect-error a one-off has no maxRuns
const onceWithMaxRuns: ScheduleInput = { at: 0, maxRuns: 1 };
// @ts-expect-error a one-off has no window
const onceWithWindow: ScheduleInput = { at: 0, startAt: 0 };
// @ts-expect-error a schedule needs one of every, cron or at
const noKind: ScheduleInput = { maxRuns: 3 };
// @ts-expect-error every is a number of milliseconds
const everyAsText: ScheduleInput = { every: '1m' };
void [everyAndAt, everyAndCron, cronAndAt, intervalWithZone, onceWithMaxRuns, onceWithWindow];
void [noKind, everyAsText];

// Narrowing on the discriminating key.
function describeSchedule(schedule: ScheduleInput): string {
  if (schedule.every !== undefined) {
    expectTypeOf(schedule).toEqualTypeOf<IntervalScheduleInput>();
    return `every ${schedule.every} ms`;
  }
  if (schedule.cron !== undefined) {
    expectTypeOf(schedule).toEqualTypeOf<CronScheduleInput>();
    return schedule.cron;
  }
  expectTypeOf(schedule).toEqualTypeOf<OnceScheduleInput>();
  return String(schedule.at);
}
void describeSchedule;

// ---- Methods: a union, upper or lower case ---------------------------------------------------

expectTypeOf<HttpMethodInput>().toEqualTypeOf<
  | 'GET'
  | 'POST'
  | 'PUT'
  | 'PATCH'
  | 'DELETE'
  | 'HEAD'
  | 'get'
  | 'post'
  | 'put'
  | 'patch'
  | 'delete'
  | 'head'
>();
expectTypeOf<CallbackMethodInput>().toEqualTypeOf<
  'POST' | 'PUT' | 'PATCH' | 'post' | 'put' | 'patch'
>();
expectTypeOf<NonNullable<RequestInput['method']>>().toEqualTypeOf<HttpMethodInput>();
expectTypeOf<NonNullable<CallbackInput['method']>>().toEqualTypeOf<CallbackMethodInput>();

const post: RequestInput = { url, method: 'POST' };
const lower: RequestInput = { url, method: 'delete' };
void [post, lower];
// @ts-expect-error OPTIONS is not a job method
const options: RequestInput = { url, method: 'OPTIONS' };
// @ts-expect-error a typo is caught
const typo: RequestInput = { url, method: 'POTS' };
// @ts-expect-error a callback carries a JSON body: no GET
const getCallback: CallbackInput = { url, method: 'GET' };
// @ts-expect-error mixed case is accepted at run time, but the type offers the two spellings
const mixed: RequestInput = { url, method: 'Post' };
declare const someString: string;
// @ts-expect-error a plain string (from config, say) must be checked or cast first
const fromConfig: RequestInput = { url, method: someString };
void [options, typo, getCallback, mixed, fromConfig];

// ---- Headers: an object, a Headers object or [name, value] pairs -----------------------------

expectTypeOf<Headers>().toExtend<HeadersInput>();
expectTypeOf<Record<string, string>>().toExtend<HeadersInput>();
expectTypeOf<Array<[string, string]>>().toExtend<HeadersInput>();
const headerForms: RequestInput[] = [
  { url, headers: { authorization: 'Bearer t' } },
  { url, headers: new Headers({ authorization: 'Bearer t' }) },
  { url, headers: [['authorization', 'Bearer t']] },
];
const callbackHeaders: CallbackInput = { url, headers: new Headers([['x-a', '1']]) };
void [headerForms, callbackHeaders];
// @ts-expect-error header values are strings
const numericHeader: RequestInput = { url, headers: { 'x-count': 1 } };
// @ts-expect-error pairs are [name, value]
const loosePair: RequestInput = { url, headers: [['x-a']] };
// @ts-expect-error a Map is not a header form (parseJob refuses it too)
const mapHeaders: RequestInput = { url, headers: new Map([['x-a', '1']]) };
void [numericHeader, loosePair, mapHeaders];

// ---- signWith: the name of a secret, never the secret ----------------------------------------

expectTypeOf<RequestInput['signWith']>().toEqualTypeOf<string | null | undefined>();
expectTypeOf<CallbackInput['signWith']>().toEqualTypeOf<string | null | undefined>();
const signed: JobInput = {
  schedule: { every: 60_000 },
  request: { url, method: 'POST', body: { a: 1 }, signWith: 'main' },
  callback: { url, signWith: 'main' },
};
void signed;
// @ts-expect-error signWith names a registered secret; it is not an object of options
const signWithObject: RequestInput = { url, signWith: { secret: 'whsec_…' } };
void signWithObject;

// ---- The callback's retry policy: the job's fields ---------------------------------------------

expectTypeOf<CallbackInput['retryPolicy']>().toEqualTypeOf<RetryPolicyInput | undefined>();
const retriedCallback: CallbackInput = {
  url,
  timeout: 5_000,
  retryPolicy: { maxRetries: 5, jitterStrategy: 'equal', retryStatusCodes: [503] },
};
const namedCallbackRetrier: CallbackInput = { url, retryPolicy: { retrier: 'patient' } };
void [retriedCallback, namedCallbackRetrier];
// @ts-expect-error backoff is one of the named strategies
const badCallbackBackoff: CallbackInput = { url, retryPolicy: { backoff: 'fibonacci' } };
// @ts-expect-error the policy is `retryPolicy`, as on the job
const callbackRetryTypo: CallbackInput = { url, retry: { maxRetries: 1 } };
void [badCallbackBackoff, callbackRetryTypo];

// ---- A whole job ------------------------------------------------------------------------------

const job: JobInput = {
  id: 'nightly-report',
  schedule: { cron: '0 2 * * *', timezone: 'Europe/Paris' },
  request: { method: 'post', url, headers: new Headers(), body: { full: true }, timeout: 5_000 },
  callback: { url, method: 'PUT', headers: [['x-cb', '1']] },
  retryPolicy: { maxRetries: 3 },
};
void job;
// @ts-expect-error the mixture is caught inside a whole job too
const badJob: JobInput = { schedule: { every: 1_000, at: 0 }, request: { url } };
void badJob;
