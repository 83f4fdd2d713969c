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

/**
 * Definitions by their stored JSON text: equal texts are equal definitions, so jobs that share a
 * definition share one entry, and a changed definition is a new entry (never a stale one).
 */
export class SpecCache {
  readonly #specs = new Map<string, JobSpec>();

  /**
   * The definition stored as `text`, parsed from `stored()` on a miss.
   *
   * @param text - the definition's stored JSON text
   * @param stored - the definition as a JSON object (read only on a miss)
   * @returns the parsed definition
   * @throws InvalidJobError when the stored definition is not a job definition this version reads
   */
  get(text: string, stored: () => JsonObject): JobSpec {
    const cached = this.#specs.get(text);
    if (cached !== undefined) return cached;
    const spec = specFromRecord(stored());
    // When full, start over. Evicting the oldest entry instead (`keys().next()` + `delete`) costs
    // O(n) per eviction in V8, which skips the holes of earlier deletions on every new iterator.
    if (this.#specs.size >= SPEC_CACHE_LIMIT) this.#specs.clear();
    this.#specs.set(text, spec);
    return spec;
  }
}
