/**
 * One block of a special-purpose address table.
 *
 * `globallyReachable` is IANA's "Globally Reachable" column: `true`, `false`, or `null` where IANA
 * writes "N/A" (Teredo, 6to4) or leaves the cell empty (terminated entries).
 *
 * @example
 * ```ts
 * const loopback: SpecialPurposeEntry = {
 *   prefix: '127.0.0.0/8', name: 'Loopback', rfc: 'RFC 1122, Section 3.2.1.3',
 *   allocated: '1981-09', terminated: null, globallyReachable: false,
 * };
 * ```
 */
export interface SpecialPurposeEntry {
  /** The block in CIDR notation, network address first. */
  readonly prefix: string;
  /** The registry's name for the block. */
  readonly name: string;
  /** The defining document(s). */
  readonly rfc: string;
  /** Allocation month (`YYYY-MM`), or `null` where the source has none. */
  readonly allocated: string | null;
  /** Termination month (`YYYY-MM`) of a deprecated block, else `null`. */
  readonly terminated: string | null;
  /** IANA's "Globally Reachable" value; `null` for "N/A" or an empty cell. */
  readonly globallyReachable: boolean | null;
}

/**
 * A dated snapshot of one address table.
 *
 * @example
 * ```ts
 * console.log(IANA_IPV4_SPECIAL_PURPOSE.snapshotDate, IANA_IPV4_SPECIAL_PURPOSE.entries.length);
 * ```
 */
export interface SpecialPurposeRegistry {
  /** Registry title. */
  readonly title: string;
  /** Where the snapshot comes from. */
  readonly source: string;
  /** The day the snapshot was taken (`YYYY-MM-DD`). */
  readonly snapshotDate: string;
  /** The newest allocation in the snapshot (`YYYY-MM`), to spot a stale copy quickly. */
  readonly newestAllocation: string;
  /** The entries, in registry order. */
  readonly entries: readonly SpecialPurposeEntry[];
}
