/**
 * JSON as every store keeps it: checked and serialised once on the way in, parsed into fresh
 * objects on the way out.
 *
 * @module
 */

import { StorageError } from './errors.js';
import type { JsonObject } from './types.js';

/** Deeper values are refused (a stack-busting document is not a job definition). */
const MAX_DEPTH = 256;

function invalid(operation: string, message: string, cause?: unknown): StorageError {
  return new StorageError(operation, `invalid argument: ${message}`, {
    code: 'ERR_STORAGE_INVALID_ARGUMENT',
    ...(cause === undefined ? {} : { cause }),
  });
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return `an instance of ${typeof name === 'string' ? name : 'an unknown class'}`;
  }
  return `a ${typeof value}`;
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Checks that a value is JSON that `JSON.stringify` writes exactly, naming where it is not. */
class Checker {
  readonly #operation: string;
  readonly #path: Array<string | number>;
  readonly #ancestors = new Set<object>();

  constructor(operation: string, root: string) {
    this.#operation = operation;
    this.#path = [root];
  }

  value(value: unknown): void {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(value)) throw this.#refuse(value);
        return;
      case 'object':
        if (value === null) return;
        this.#container(value);
        return;
      default:
        throw this.#refuse(value);
    }
  }

  #container(value: object): void {
    if (this.#ancestors.has(value)) {
      throw invalid(this.#operation, `${this.#where()} is not JSON: circular reference`);
    }
    if (this.#ancestors.size >= MAX_DEPTH) {
      throw invalid(this.#operation, `${this.#where()} is nested more than ${MAX_DEPTH} deep`);
    }
    this.#ancestors.add(value);
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        this.#path.push(index);
        // A hole or an explicit `undefined` has no exact JSON form (JSON.stringify writes null).
        if (!(index in value) || value[index] === undefined) throw this.#refuse(undefined);
        this.value(value[index]);
        this.#path.pop();
      }
    } else if (isPlainObject(value)) {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const item = record[key];
        // Like JSON.stringify: a property whose value is undefined is not written.
        if (item === undefined) continue;
        this.#path.push(key);
        this.value(item);
        this.#path.pop();
      }
    } else {
      throw this.#refuse(value);
    }
    this.#ancestors.delete(value);
  }

  #where(): string {
    let where = '';
    for (const key of this.#path) {
      where += typeof key === 'number' ? `[${key}]` : where === '' ? key : `.${key}`;
    }
    return where;
  }

  #refuse(value: unknown): StorageError {
    return invalid(this.#operation, `${this.#where()} is not JSON: ${describe(value)}`);
  }
}

/**
 * Checks that `value` is a JSON object and serialises it: the text every store keeps. Plain
 * objects, arrays without holes, strings, finite numbers, booleans and `null` are JSON; a property
 * whose value is `undefined` is dropped (as `JSON.stringify` does); anything else is refused,
 * naming where it is.
 *
 * @param value - the value to serialise
 * @param operation - the store operation, for the error
 * @param path - the argument's name, for the error (e.g. `job.spec`)
 * @returns the JSON text
 * @throws {@link StorageError} with code `ERR_STORAGE_INVALID_ARGUMENT` when `value` is not a JSON
 *   object
 * @example
 * ```ts
 * jsonObjectText({ every: 1000, tags: ['a'] }, 'createJob', 'job.spec'); // '{"every":1000,"tags":["a"]}'
 * jsonObjectText({ at: new Date() }, 'createJob', 'job.spec'); // throws: job.spec.at is not JSON
 * ```
 */
export function jsonObjectText(value: unknown, operation: string, path: string): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(operation, `${path} must be a JSON object, got ${describe(value)}`);
  }
  try {
    // Checked first, so that JSON.stringify (native, fast) writes exactly what was given.
    new Checker(operation, path).value(value);
    return JSON.stringify(value);
  } catch (error) {
    if (error instanceof StorageError) throw error;
    // A throwing getter or proxy trap, or a stack overflow: still an invalid argument.
    throw invalid(operation, `${path} could not be read as JSON`, error);
  }
}

/**
 * Parses JSON text a store kept back into a fresh object.
 *
 * @param text - the stored text
 * @param operation - the store operation, for the error
 * @param what - what the text is, for the error (e.g. `the spec of job "a"`)
 * @returns a new object
 * @throws {@link StorageError} with code `ERR_STORAGE_CORRUPT` when the text is not a JSON object
 * @example
 * ```ts
 * parseJsonObject('{"every":1000}', 'getJob', 'the spec of job "a"'); // { every: 1000 }
 * ```
 */
export function parseJsonObject(text: string, operation: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StorageError(operation, `${what} is not readable JSON`, {
      cause: error,
      code: 'ERR_STORAGE_CORRUPT',
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StorageError(operation, `${what} is not a JSON object`, {
      code: 'ERR_STORAGE_CORRUPT',
    });
  }
  return value as JsonObject;
}
