import { describe, expect, it } from 'vitest';
import {
  RETRY_ERROR_CODES,
  RetryCancelledError,
  RetryDeadlineError,
  RetryError,
  RetryOptionsError,
  type RetryReason,
  RetryResultError,
} from './errors.js';

describe('RetryError', () => {
  it.each<[RetryReason, string]>([
    ['exhausted', 'ERR_RETRY_EXHAUSTED'],
    ['non-retryable', 'ERR_RETRY_NON_RETRYABLE'],
    ['timeout', 'ERR_RETRY_TIMEOUT'],
    ['aborted', 'ERR_RETRY_ABORTED'],
    ['stopped', 'ERR_RETRY_STOPPED'],
  ])('reason %s has code %s', (reason, code) => {
    const last = new Error('last');
    const error = new RetryError({
      reason,
      errors: [new Error('first'), last],
      attempts: 2,
      cause: last,
    });
    expect(error).toBeInstanceOf(AggregateError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('RetryError');
    expect(error.code).toBe(code);
    expect(RETRY_ERROR_CODES[reason]).toBe(code);
    expect(error.reason).toBe(reason);
    expect(error.cause).toBe(last);
    expect(error.errors).toHaveLength(2);
    expect(error.attempts).toBe(2);
    expect(error.budgetExhausted).toBe(false);
  });

  it('copies the errors array and explains the budget case', () => {
    const errors = [new Error('a')];
    const error = new RetryError({
      reason: 'exhausted',
      errors,
      attempts: 1,
      cause: errors[0],
      budgetExhausted: true,
    });
    errors.push(new Error('later'));
    expect(error.errors).toHaveLength(1);
    expect(error.budgetExhausted).toBe(true);
    expect(error.message).toBe(
      'Gave up after 1 attempt: the retry budget is empty (last: Error: a)',
    );
  });

  it('has the code of its reason, and none for a reason it does not know', () => {
    for (const reason of Object.keys(RETRY_ERROR_CODES) as RetryReason[]) {
      expect(new RetryError({ reason, errors: [], attempts: 0, cause: undefined }).code).toBe(
        RETRY_ERROR_CODES[reason],
      );
    }
    for (const reason of ['later', 'toString']) {
      const error = new RetryError({
        reason: reason as RetryReason,
        errors: [],
        attempts: 0,
        cause: 1,
      });
      expect(error.code).toBeUndefined();
    }
  });

  it('describes a non-Error cause and no cause', () => {
    expect(
      new RetryError({ reason: 'aborted', errors: [], attempts: 0, cause: 'gone' }).message,
    ).toBe('Gave up after 0 attempts: the caller aborted (last: gone)');
    expect(
      new RetryError({ reason: 'stopped', errors: [], attempts: 0, cause: undefined }).message,
    ).toBe('Gave up after 0 attempts: the retrier was stopped');
  });
});

describe('the other errors', () => {
  it('RetryOptionsError names the option and the received value', () => {
    const error = new RetryOptionsError('maxRetries', 'expected an integer', -1);
    expect(error.name).toBe('RetryOptionsError');
    expect(error.code).toBe('ERR_RETRY_OPTIONS');
    expect(error.option).toBe('maxRetries');
    expect(error.expected).toBe('expected an integer');
    expect(error.received).toBe(-1);
    expect(error.message).toBe('Invalid option "maxRetries": expected an integer (received -1)');
    expect(new RetryOptionsError('x', 'y', 'z').message).toContain('(received "z")');
    expect(new RetryOptionsError('x', 'y', () => 1).message).toContain('(received a function)');
    expect(new RetryOptionsError('x', 'y', null).message).toContain('(received null)');
    expect(new RetryOptionsError('x', 'y', [1]).message).toContain('(received an array)');
  });

  it('RetryDeadlineError carries scope and timeout', () => {
    const total = new RetryDeadlineError('total', 500);
    expect([total.name, total.code, total.scope, total.timeout]).toEqual([
      'RetryDeadlineError',
      'ERR_RETRY_DEADLINE',
      'total',
      500,
    ]);
    expect(new RetryDeadlineError('attempt', 20).message).toContain(
      'attempt timed out after 20 ms',
    );
  });

  it('RetryCancelledError and RetryResultError', () => {
    const cancelled = new RetryCancelledError();
    expect([cancelled.name, cancelled.code]).toEqual([
      'RetryCancelledError',
      'ERR_RETRY_CANCELLED',
    ]);
    const rejected = new RetryResultError({ state: 'pending' }, 3);
    expect([rejected.name, rejected.code, rejected.attempt]).toEqual([
      'RetryResultError',
      'ERR_RETRY_RESULT_REJECTED',
      3,
    ]);
    expect(rejected.value).toEqual({ state: 'pending' });
  });
});
