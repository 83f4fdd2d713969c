/**
 * Copying JSON values. The memory store keeps exactly what a SQL store would read back, so it
 * refuses values JSON cannot carry instead of letting them work here and break elsewhere.
 *
 * @module
 */

import { type JsonObject, type JsonValue, StorageError } from '@again/storage';

/**
 * Deep-copies a JSON object, refusing anything JSON cannot round-trip: non-finite numbers, bigint,
 * functions, symbols, class instances (Date, Map, ...), cycles, and `undefined` inside arrays.
 * `undefined` object properties are dropped and `-0` becomes `0`, as `JSON.stringify` does.
 *
 * @param value - the value to copy
 * @param operation - the store operation, for the error
 * @param path - the value's name, for the error (for example `spec`)
 * @throws {@link StorageError} with code `ERR_STORAGE_INVALID_ARGUMENT`
 */
export function copyJsonObject(value: JsonObject, operation: string, path: string): JsonObject {
  if (!isPlainObject(value)) {
    throw new StorageError(operation, `${path} must be a JSON object, got ${describe(value)}`, {
      code: 'ERR_STORAGE_INVALID_ARGUMENT',
    });
  }
  return new JsonCopier(operation, path).copy(value) as JsonObject;
}

/** Deep-copies a value already known to be JSON (read path: no checks). */
export function cloneJsonObject(value: JsonObject): JsonObject {
  return cloneValue(value) as JsonObject;
}

function cloneValue(value: JsonValue): JsonValue {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneValue);
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    setProperty(out, key, cloneValue(value[key] as JsonValue));
  }
  return out;
}

/**
 * One checked copy. The path of the value being copied is kept as a stack of keys and only
 * turned into text when a value is refused, so a valid document costs no string building.
 */
class JsonCopier {
  readonly #operation: string;
  readonly #root: string;
  /** Keys (object) and indexes (array) from the root to the value being copied. */
  readonly #keys: Array<string | number> = [];
  /** The objects and arrays being copied, to refuse cycles (shared references are fine). */
  readonly #ancestors = new Set<object>();

  constructor(operation: string, root: string) {
    this.#operation = operation;
    this.#root = root;
  }

  copy(value: unknown): JsonValue {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (!Number.isFinite(value)) throw this.#notJson(value);
        return value === 0 ? 0 : value;
      case 'object': {
        if (value === null) return null;
        if (this.#ancestors.has(value)) {
          throw new StorageError(
            this.#operation,
            `${this.#path()} is not JSON: circular reference`,
            {
              code: 'ERR_STORAGE_INVALID_ARGUMENT',
            },
          );
        }
        this.#ancestors.add(value);
        let out: JsonValue;
        if (Array.isArray(value)) {
          out = this.#copyArray(value);
        } else if (isPlainObject(value)) {
          out = this.#copyObject(value);
        } else {
          throw this.#notJson(value);
        }
        this.#ancestors.delete(value);
        return out;
      }
      default:
        throw this.#notJson(value);
    }
  }

  #copyArray(value: readonly unknown[]): JsonValue[] {
    const keys = this.#keys;
    const out: JsonValue[] = new Array(value.length);
    for (let index = 0; index < value.length; index++) {
      keys.push(index);
      const item = value[index];
      if (item !== undefined) out[index] = this.copy(item);
      // A hole stays a hole (as `Array.prototype.map` leaves it); an explicit `undefined` is refused.
      else if (index in value) throw this.#notJson(item);
      keys.pop();
    }
    return out;
  }

  #copyObject(value: Record<string, unknown>): JsonObject {
    const keys = this.#keys;
    const out: JsonObject = {};
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (item === undefined) continue;
      keys.push(key);
      setProperty(out, key, this.copy(item));
      keys.pop();
    }
    return out;
  }

  /** The refused value's path, for example `spec.headers.x` or `result.items[2]`. */
  #path(): string {
    let path = this.#root;
    for (const key of this.#keys) path += typeof key === 'number' ? `[${key}]` : `.${key}`;
    return path;
  }

  #notJson(value: unknown): StorageError {
    return new StorageError(this.#operation, `${this.#path()} is not JSON: ${describe(value)}`, {
      code: 'ERR_STORAGE_INVALID_ARGUMENT',
    });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Sets an own property, including one named `__proto__` (which `=` would treat as the prototype). */
function setProperty(object: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[key] = value;
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object' && value !== null) {
    return `an instance of ${value.constructor?.name ?? 'an unknown class'}`;
  }
  return `a ${typeof value}`;
}
