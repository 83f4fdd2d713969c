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
  return copyValue(value, operation, path, new Set()) as JsonObject;
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

function copyValue(
  value: unknown,
  operation: string,
  path: string,
  ancestors: Set<object>,
): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw notJson(operation, path, value);
      return value === 0 ? 0 : value;
    case 'object': {
      if (value === null) return null;
      if (ancestors.has(value)) {
        throw new StorageError(operation, `${path} is not JSON: circular reference`, {
          code: 'ERR_STORAGE_INVALID_ARGUMENT',
        });
      }
      ancestors.add(value);
      let out: JsonValue;
      if (Array.isArray(value)) {
        out = value.map((item: unknown, index) => {
          if (item === undefined) throw notJson(operation, `${path}[${index}]`, item);
          return copyValue(item, operation, `${path}[${index}]`, ancestors);
        });
      } else if (isPlainObject(value)) {
        const object: JsonObject = {};
        for (const key of Object.keys(value)) {
          const item = (value as Record<string, unknown>)[key];
          if (item === undefined) continue;
          setProperty(object, key, copyValue(item, operation, `${path}.${key}`, ancestors));
        }
        out = object;
      } else {
        throw notJson(operation, path, value);
      }
      ancestors.delete(value);
      return out;
    }
    default:
      throw notJson(operation, path, value);
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

function notJson(operation: string, path: string, value: unknown): StorageError {
  return new StorageError(operation, `${path} is not JSON: ${describe(value)}`, {
    code: 'ERR_STORAGE_INVALID_ARGUMENT',
  });
}
