/**
 * Transitional: the job module was split into `job-types.ts`, `job-schema.ts`, `parse-job.ts`
 * and `stored-spec.ts`. This re-export keeps `occurrences.ts` (being rewritten alongside) compiling
 * until it imports from `job-types.ts`; delete it then. Not part of the public API.
 *
 * @module
 */
export type { JobSpec } from './job-types.js';
