/**
 * The URL check at schedule time: a job whose request or callback URL the egress's policy
 * refuses is invalid; a check that merely could not finish (DNS down) does not reject the job,
 * because the guarded fetch checks every address again when the job runs.
 *
 * @module
 */
import { describeError, type RefusalCheck } from './classify.js';
import type { JobIssue } from './errors.js';
import type { JobSpec } from './job-types.js';

/**
 * The egress's check of one URL (`egress.check`): throws, or returns `{ ok: false }`, to refuse.
 *
 * @example
 * ```ts
 * const check: UrlCheck = (url, signal) => egress.check(url, signal ? { signal } : {});
 * ```
 */
export type UrlCheck = (url: string, signal: AbortSignal | undefined) => Promise<unknown>;

/**
 * What {@link checkJobUrls} found.
 *
 * @example
 * ```ts
 * const { issues, unchecked } = await checkJobUrls(spec, check, egress.isRefusal);
 * ```
 */
export interface JobUrlCheckResult {
  /** One issue per refused URL, with its path (`request.url`, `callback.url`). */
  readonly issues: JobIssue[];
  /** The first refusal's error (or `{ ok: false }` result), for `InvalidJobError`'s `cause`. */
  readonly cause: unknown;
  /**
   * URLs whose check failed without a policy decision (e.g. a temporary DNS failure): the job
   * is accepted and the URL is checked again, address by address, when the request is sent.
   */
  readonly unchecked: ReadonlyArray<{ readonly path: string; readonly error: unknown }>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Checks a job's request and callback URLs against the egress's policy, concurrently.
 *
 * A URL is refused when `check` returns `{ ok: false }`, or when it throws and `isRefusal` says
 * the error is a policy refusal (`egress.isRefusal` from `@again/url-guard`). Any other failure
 * of the check (a DNS server down, a timeout) leaves the URL in `unchecked` and the job valid.
 * Without `isRefusal`, every error thrown by `check` refuses (the `SchedulerEgress` contract:
 * "throw to refuse"). An `isRefusal` that throws counts as a refusal (fail closed).
 *
 * @param spec - the parsed job.
 * @param check - the egress's check; `null` when there is none (nothing is checked).
 * @param isRefusal - the egress's refusal check, if it has one.
 * @param signal - aborts the checks.
 * @returns the issues, the first refusal's cause, and the URLs left unchecked.
 * @throws `signal.reason` when `signal` aborts.
 * @example
 * ```ts
 * const { issues, cause } = await checkJobUrls(spec, egress.check, egress.isRefusal, signal);
 * if (issues.length > 0) throw new InvalidJobError(issues, { cause });
 * ```
 */
export async function checkJobUrls(
  spec: JobSpec,
  check: UrlCheck | null,
  isRefusal: RefusalCheck | null | undefined,
  signal?: AbortSignal,
): Promise<JobUrlCheckResult> {
  const issues: JobIssue[] = [];
  const unchecked: Array<{ path: string; error: unknown }> = [];
  let cause: unknown;
  if (check === null) return { issues, cause, unchecked };
  const urls: Array<readonly [string, string]> = [['request.url', spec.request.url]];
  if (spec.callback !== null) urls.push(['callback.url', spec.callback.url]);
  signal?.throwIfAborted();
  const results = await Promise.allSettled(urls.map(async ([, url]) => check(url, signal)));
  signal?.throwIfAborted();
  for (const [index, result] of results.entries()) {
    const path = (urls[index] as readonly [string, string])[0];
    if (result.status === 'rejected') {
      if (!policyRefusal(result.reason, isRefusal)) {
        unchecked.push({ path, error: result.reason });
        continue;
      }
      cause ??= result.reason;
      issues.push({ path, message: `URL refused: ${describeError(result.reason)}` });
    } else if (isObject(result.value) && result.value.ok === false) {
      cause ??= result.value;
      const reason = result.value.reason ?? result.value.code;
      issues.push({
        path,
        message: `URL refused${typeof reason === 'string' ? `: ${reason}` : ''}`,
      });
    }
  }
  return { issues, cause, unchecked };
}

function policyRefusal(error: unknown, isRefusal: RefusalCheck | null | undefined): boolean {
  if (isRefusal === null || isRefusal === undefined) return true;
  try {
    return isRefusal(error) === true;
  } catch {
    return true;
  }
}
