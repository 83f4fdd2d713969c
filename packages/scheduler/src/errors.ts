/** One problem found in a job definition. */
export interface JobIssue {
  /** Dotted path of the offending field, e.g. `request.url` or `schedule.every` (`''` = the root). */
  readonly path: string;
  /** Human-readable description of the problem. */
  readonly message: string;
}

/**
 * Thrown when a job definition is invalid. Lists every problem at once, each with its path;
 * nothing was written to storage.
 *
 * @example
 * ```ts
 * try {
 *   await scheduler.schedule({ schedule: { every: -1 }, request: { url: 'ftp://x' } });
 * } catch (error) {
 *   if (error instanceof InvalidJobError) console.log(error.issues);
 * }
 * ```
 */
export class InvalidJobError extends Error {
  override readonly name = 'InvalidJobError' as const;
  readonly code = 'ERR_INVALID_JOB' as const;
  /** Every problem found, in input order. */
  readonly issues: ReadonlyArray<JobIssue>;

  /**
   * @param issues - every problem found (at least one).
   * @param options - `cause`, e.g. an underlying URL-policy error.
   */
  constructor(issues: ReadonlyArray<JobIssue>, options?: ErrorOptions) {
    const summary = issues
      .slice(0, 5)
      .map((issue) => (issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`))
      .join('; ');
    const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
    super(`invalid job: ${summary}${more}`, options);
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }
}

/**
 * Thrown by scheduler operations after `stop()`.
 *
 * @example
 * ```ts
 * await scheduler.stop();
 * await scheduler.schedule(job); // throws SchedulerStoppedError
 * ```
 */
export class SchedulerStoppedError extends Error {
  override readonly name = 'SchedulerStoppedError' as const;
  readonly code = 'ERR_SCHEDULER_STOPPED' as const;

  /** @param options - optional `cause`. */
  constructor(options?: ErrorOptions) {
    super('scheduler stopped', options);
  }
}

/**
 * A storage operation failed; `cause` is the storage's own error (e.g. a `StorageError`).
 *
 * @example
 * ```ts
 * catch (error) {
 *   if (error instanceof SchedulerStorageError) console.log(error.operation, error.cause);
 * }
 * ```
 */
export class SchedulerStorageError extends Error {
  override readonly name = 'SchedulerStorageError' as const;
  readonly code = 'ERR_SCHEDULER_STORAGE' as const;
  /** The storage operation that failed, e.g. `createJob`. */
  readonly operation: string;

  /**
   * @param operation - the storage method that failed.
   * @param cause - the underlying error.
   */
  constructor(operation: string, cause: unknown) {
    super(`storage operation ${operation} failed`, { cause });
    this.operation = operation;
  }
}

/**
 * An attempt got a response whose status is neither 2xx nor retryable (e.g. 404). Not retried.
 *
 * @example
 * ```ts
 * if (error instanceof UnexpectedStatusError && error.status === 404) { ... }
 * ```
 */
export class UnexpectedStatusError extends Error {
  override readonly name = 'UnexpectedStatusError' as const;
  readonly code = 'ERR_UNEXPECTED_STATUS' as const;
  /** The HTTP status received. */
  readonly status: number;

  /** @param status - the HTTP status received. */
  constructor(status: number, options?: ErrorOptions) {
    super(`unexpected status ${status}`, options);
    this.status = status;
  }
}

/**
 * An attempt got a response whose status is in the job's `retryStatusCodes` (e.g. 503).
 * Retried; `retryAfter` carries the server's Retry-After hint in ms, which the retrier honours
 * up to its `maxRetryAfter`.
 *
 * @example
 * ```ts
 * new RetryableStatusError(429, 2_000); // "status 429 is retryable", retry in 2 s
 * ```
 */
export class RetryableStatusError extends Error {
  override readonly name = 'RetryableStatusError' as const;
  readonly code = 'ERR_RETRYABLE_STATUS' as const;
  /** The HTTP status received. */
  readonly status: number;
  /** Delay the server asked for (Retry-After), in ms; `undefined` when absent or unparsable. */
  readonly retryAfter: number | undefined;
  /**
   * The same delay under the name `@again/retry` reads as milliseconds (it reads a numeric
   * `retryAfter` as seconds, as HTTP and most clients carry it).
   */
  readonly retryAfterMs: number | undefined;

  /**
   * @param status - the HTTP status received.
   * @param retryAfter - the parsed Retry-After delay in ms, if any.
   */
  constructor(status: number, retryAfter?: number, options?: ErrorOptions) {
    super(`status ${status} is retryable`, options);
    this.status = status;
    this.retryAfter = retryAfter;
    this.retryAfterMs = retryAfter;
  }
}

/**
 * The connection broke while the response body was being read (reset, socket closed, truncated
 * chunked encoding): the response is incomplete, so the attempt failed like any other transport
 * failure, whatever its status, and is retried when `retryNetworkErrors` is on. Stopping the
 * read at `maxBodyBytes` is not this error: that run succeeds with `response_body_truncated`.
 *
 * @example
 * ```ts
 * if (error instanceof ResponseBodyError) console.log(error.status, error.bytesRead, error.cause);
 * ```
 */
export class ResponseBodyError extends Error {
  override readonly name = 'ResponseBodyError' as const;
  readonly code = 'ERR_RESPONSE_BODY' as const;
  /** The status of the response whose body broke. */
  readonly status: number;
  /** Body bytes received before it broke. */
  readonly bytesRead: number;

  /**
   * @param status - the response's status.
   * @param bytesRead - body bytes received before the failure.
   * @param options - `cause`: the stream's error (e.g. undici's `UND_ERR_SOCKET`).
   */
  constructor(status: number, bytesRead: number, options?: ErrorOptions) {
    super(`response body cut short after ${bytesRead} bytes (status ${status})`, options);
    this.status = status;
    this.bytesRead = bytesRead;
  }
}

/**
 * No unfinished job has this id (it never existed, or it is completed, canceled, removed or
 * stopped), so it cannot be triggered or updated.
 *
 * @example
 * ```ts
 * try {
 *   await scheduler.trigger('nope');
 * } catch (error) {
 *   if (error instanceof JobNotFoundError) console.log(error.jobId);
 * }
 * ```
 */
export class JobNotFoundError extends Error {
  override readonly name = 'JobNotFoundError' as const;
  readonly code = 'ERR_JOB_NOT_FOUND' as const;
  /** The id that was looked up. */
  readonly jobId: string;

  /** @param jobId - the id that was looked up. */
  constructor(jobId: string) {
    super(`no unfinished job with id ${JSON.stringify(jobId)}`);
    this.jobId = jobId;
  }
}

/**
 * The job is paused: it starts no run, not even a triggered one, until it is resumed.
 *
 * @example
 * ```ts
 * await scheduler.pause(id);
 * await scheduler.trigger(id); // throws JobPausedError
 * ```
 */
export class JobPausedError extends Error {
  override readonly name = 'JobPausedError' as const;
  readonly code = 'ERR_JOB_PAUSED' as const;
  /** The paused job. */
  readonly jobId: string;

  /** @param jobId - the paused job. */
  constructor(jobId: string) {
    super(`job ${JSON.stringify(jobId)} is paused; resume it first`);
    this.jobId = jobId;
  }
}

/**
 * An update lost the race against other updates of the same job several times in a row.
 *
 * @example
 * ```ts
 * if (error instanceof JobUpdateConflictError) await scheduler.update(id, changes); // try again
 * ```
 */
export class JobUpdateConflictError extends Error {
  override readonly name = 'JobUpdateConflictError' as const;
  readonly code = 'ERR_JOB_UPDATE_CONFLICT' as const;
  /** The job. */
  readonly jobId: string;

  /** @param jobId - the job. */
  constructor(jobId: string) {
    super(`job ${JSON.stringify(jobId)} kept changing under the update; nothing was written`);
    this.jobId = jobId;
  }
}
