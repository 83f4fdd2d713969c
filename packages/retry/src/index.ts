export {
  createRetryBudget,
  RETRY_BUDGET_DEFAULTS,
  type RetryBudget,
  type RetryBudgetDefaults,
  type RetryBudgetOptions,
  type TokenBucketRetryBudget,
} from './budget.js';
export {
  RETRY_ERROR_CODES,
  RetryCancelledError,
  RetryDeadlineError,
  RetryError,
  type RetryErrorCode,
  type RetryErrorOptions,
  RetryOptionsError,
  type RetryReason,
  RetryResultError,
  RetryStopError,
} from './errors.js';
export {
  type BackoffStrategy,
  type JitterStrategy,
  type NormalizedRetrierOptions,
  RETRIER_DEFAULTS,
  type RetrierDefaults,
  type RetrierOptions,
} from './options.js';
export { type CallOptions, createRetrier, type Retrier } from './retrier.js';
export { type RetryOptions, retry } from './retry.js';
export {
  getRetryAfter,
  parseRetryAfter,
  type RetryAfterHint,
  withRetryAfter,
} from './retry-after.js';
export { sleep } from './sleep.js';
export type {
  AttemptTiming,
  RetryFailureTrace,
  RetrySuccessTrace,
  RetryTrace,
  RetryTraceBase,
} from './trace.js';
export type {
  AcceptFunction,
  AttemptContext,
  AttemptHookInfo,
  Clock,
  ErrorClass,
  ErrorMatcher,
  GiveUpHookInfo,
  RandomFunction,
  RetryableFunction,
  RetryDecisionInfo,
  RetryHookInfo,
  RetryHooks,
  RetryLogger,
  RetryPredicate,
  SleepFunction,
  SuccessHookInfo,
  TemporaryErrorClassifier,
} from './types.js';
