/**
 * The argument rules of the storage contract, written once for every adapter.
 *
 * @module
 */

import { StorageError } from './errors.js';
import { JOB_STATES, type JobState, TERMINAL_JOB_STATES, type TerminalJobState } from './types.js';

/**
 * Limits the storage contract enforces on every adapter.
 *
 * @example
 * ```ts
 * const chunk = leases.slice(0, STORAGE_LIMITS.batch);
 * ```
 */
export const STORAGE_LIMITS: {
  /** Longest identifier (job id, occurrence id, owner) or reason, in UTF-16 code units. */
  readonly textLength: number;
  /** Most entries in one batch (claim limit, leases renewed, completions, takeovers). */
  readonly batch: number;
  /** Latest time, ms since the epoch (the end of the range of `Date`). */
  readonly maxTime: number;
  /** Longest lease (the longest timer delay). */
  readonly maxLeaseDuration: number;
} = Object.freeze({
  textLength: 4096,
  batch: 10_000,
  maxTime: 8.64e15,
  maxLeaseDuration: 2_147_483_647,
});

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const STATES: ReadonlySet<unknown> = new Set<unknown>(JOB_STATES);
const TERMINAL: ReadonlySet<unknown> = new Set<unknown>(TERMINAL_JOB_STATES);

/** Argument checks for one store operation; every failure names the argument. */
export class Checks {
  readonly #operation: string;

  constructor(operation: string) {
    this.#operation = operation;
  }

  fail(message: string): never {
    throw new StorageError(this.#operation, `invalid argument: ${message}`, {
      code: 'ERR_STORAGE_INVALID_ARGUMENT',
    });
  }

  object(name: string, value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(`${name} must be an object`);
    }
    return value as Record<string, unknown>;
  }

  array(name: string, value: unknown, max: number): readonly unknown[] {
    if (!Array.isArray(value)) this.fail(`${name} must be an array`);
    if (value.length > max) this.fail(`${name} must have at most ${max} entries`);
    return value;
  }

  /**
   * Text kept in a column as is: well-formed UTF-16 (no lone surrogate, which a driver would
   * replace), without U+0000 (which PostgreSQL cannot store), at most 4,096 code units.
   */
  text(name: string, value: unknown, allowEmpty = false): string {
    if (typeof value !== 'string') this.fail(`${name} must be a string`);
    if (value.length === 0 && !allowEmpty) this.fail(`${name} must not be empty`);
    if (value.length > STORAGE_LIMITS.textLength) {
      this.fail(`${name} must be at most ${STORAGE_LIMITS.textLength} characters`);
    }
    if (LONE_SURROGATE.test(value)) this.fail(`${name} contains a lone surrogate`);
    if (value.includes('\u0000')) this.fail(`${name} contains U+0000`);
    return value;
  }

  time(name: string, value: unknown): number {
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value < 0 ||
      value > STORAGE_LIMITS.maxTime
    ) {
      this.fail(`${name} must be an integer time from 0 to 8.64e15 (ms since the epoch)`);
    }
    // -0 passes the checks; store 0, as a SQL column would.
    return value === 0 ? 0 : value;
  }

  timeOrNull(name: string, value: unknown): number | null {
    return value === null ? null : this.time(name, value);
  }

  integer(name: string, value: unknown, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(`${name} must be an integer from ${min} to ${max}`);
    }
    return value === 0 ? 0 : value;
  }

  /** An integer where 0 and below mean "none": returns `undefined` for those. */
  positiveOrNone(name: string, value: unknown): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      this.fail(`${name} must be an integer`);
    }
    return value > 0 ? value : undefined;
  }

  /** A history limit: absent or 0 for the store's default, else a positive integer. */
  historyLimit(name: string, value: unknown): number | undefined {
    if (value === undefined || value === 0) return undefined;
    return this.integer(name, value, 1, Number.MAX_SAFE_INTEGER);
  }

  /** A list of states; absent means `[]` (all). */
  states(name: string, value: unknown): JobState[] {
    if (value === undefined) return [];
    const states = this.array(name, value, JOB_STATES.length * 4);
    for (const state of states) {
      if (!STATES.has(state)) {
        this.fail(`${name} has an unknown job state ${JSON.stringify(String(state))}`);
      }
    }
    return [...new Set(states as JobState[])];
  }

  terminalState(name: string, value: unknown): TerminalJobState {
    if (!TERMINAL.has(value)) {
      this.fail(`${name} must be one of ${TERMINAL_JOB_STATES.join(', ')}`);
    }
    return value as TerminalJobState;
  }

  leaseDuration(name: string, value: unknown): number {
    return this.integer(name, value, 1, STORAGE_LIMITS.maxLeaseDuration);
  }

  fence(name: string, value: unknown): number {
    return this.integer(name, value, 0, Number.MAX_SAFE_INTEGER);
  }

  /** Throws when `key` was seen before in this batch. */
  unique(name: string, seen: Set<unknown>, key: unknown): void {
    if (seen.has(key)) this.fail(`${name} repeats ${JSON.stringify(String(key))}`);
    seen.add(key);
  }
}
