/**
 * Parsed job definitions, kept so that claiming a due job does not parse and check its stored
 * definition every time.
 *
 * @module
 */
import type { JsonObject } from '@again/storage';
import type { JobSpec } from './job-types.js';
import { specFromRecord } from './stored-spec.js';

/**
 * Most definitions kept. A miss costs one parse and check of the stored JSON; a hit saves it. The
 * cache is small on purpose: with many idle jobs, their parsed definitions would cost more memory
 * than the jobs themselves.
 */
const SPEC_CACHE_LIMIT = 2_000;

/** Definitions by job id, each tagged with its incarnation (`createdAt`). */
export class SpecCache {
  readonly #specs = new Map<string, { readonly createdAt: number; readonly spec: JobSpec }>();

  /**
   * The definition of a job's incarnation, parsed from `stored()` on a miss.
   *
   * @param id - the job id
   * @param createdAt - the incarnation
   * @param stored - reads the stored definition (called only on a miss)
   * @returns the parsed definition
   * @throws InvalidJobError when the stored definition is unreadable
   */
  get(id: string, createdAt: number, stored: () => JsonObject): JobSpec {
    const cached = this.#specs.get(id);
    if (cached !== undefined && cached.createdAt === createdAt) return cached.spec;
    const spec = specFromRecord(stored());
    this.set(id, createdAt, spec);
    return spec;
  }

  /**
   * Remembers a definition (after `schedule()` wrote it).
   *
   * @param id - the job id
   * @param createdAt - the incarnation
   * @param spec - the definition
   */
  set(id: string, createdAt: number, spec: JobSpec): void {
    this.#specs.delete(id);
    // When full, start over. Evicting the oldest entry instead (`keys().next()` + `delete`) costs
    // O(n) per eviction in V8, which skips the holes of earlier deletions on every new iterator.
    if (this.#specs.size >= SPEC_CACHE_LIMIT) this.#specs.clear();
    this.#specs.set(id, { createdAt, spec });
  }

  /**
   * Forgets a job's definition.
   *
   * @param id - the job id
   */
  delete(id: string): void {
    this.#specs.delete(id);
  }
}
