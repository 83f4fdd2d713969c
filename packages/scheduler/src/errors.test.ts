import { describe, expect, it } from 'vitest';
import {
  InvalidJobError,
  ResponseBodyError,
  RetryableStatusError,
  SchedulerStoppedError,
  SchedulerStorageError,
  UnexpectedStatusError,
} from './errors.js';

describe('errors', () => {
  it.each([
    [new InvalidJobError([{ path: 'a', message: 'b' }]), 'InvalidJobError', 'ERR_INVALID_JOB'],
    [new SchedulerStoppedError(), 'SchedulerStoppedError', 'ERR_SCHEDULER_STOPPED'],
    [
      new SchedulerStorageError('createJob', new Error('x')),
      'SchedulerStorageError',
      'ERR_SCHEDULER_STORAGE',
    ],
    [new UnexpectedStatusError(404), 'UnexpectedStatusError', 'ERR_UNEXPECTED_STATUS'],
    [new RetryableStatusError(503, 1000), 'RetryableStatusError', 'ERR_RETRYABLE_STATUS'],
    [new ResponseBodyError(200, 10), 'ResponseBodyError', 'ERR_RESPONSE_BODY'],
  ])('%s has a literal name and a stable code', (error, name, code) => {
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(String(error)).toContain(name);
  });

  it('keeps context and cause', () => {
    const cause = new Error('disk full');
    const storage = new SchedulerStorageError('claimDue', cause);
    expect(storage.operation).toBe('claimDue');
    expect(storage.cause).toBe(cause);
    expect(new UnexpectedStatusError(418).status).toBe(418);
    const retryable = new RetryableStatusError(429, 2_000);
    expect([retryable.status, retryable.retryAfter]).toEqual([429, 2_000]);
    expect(new RetryableStatusError(503).retryAfter).toBeUndefined();
    const body = new ResponseBodyError(200, 512, { cause });
    expect([body.status, body.bytesRead, body.cause]).toEqual([200, 512, cause]);
  });

  it('InvalidJobError freezes its issues and summarises them', () => {
    const issues = Array.from({ length: 7 }, (_, i) => ({ path: `p${i}`, message: `m${i}` }));
    const error = new InvalidJobError(issues);
    expect(error.issues).toEqual(issues);
    expect(Object.isFrozen(error.issues)).toBe(true);
    expect(Object.isFrozen(error.issues[0])).toBe(true);
    issues[0] = { path: 'changed', message: 'changed' };
    expect(error.issues[0]?.path).toBe('p0');
    expect(error.message).toContain('p0: m0');
    expect(error.message).toContain('(and 2 more)');
  });
});
