/**
 * Transitional: the execute module was split into `request.ts`, `callback.ts`, `classify.ts`,
 * `response-body.ts`, `http-client.ts`, `policy-retriers.ts` and `url-check.ts`. This re-export
 * keeps the engine's tests (being rewritten alongside) compiling until they import
 * `CallbackPayload` from `callback.ts`; delete it then. Not part of the public API.
 *
 * @module
 */
export type { CallbackPayload } from './callback.js';
