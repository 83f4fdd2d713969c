/**
 * Names the guard refuses by name under the default policy, whatever they resolve to.
 *
 * @module
 */

/**
 * One entry of {@link SPECIAL_USE_NAMES}.
 *
 * @example
 * ```ts
 * const entry: SpecialUseName = { name: 'local', subdomains: true, reason: 'multicast DNS' };
 * ```
 */
export interface SpecialUseName {
  /** The name, lower case, without a trailing dot. */
  readonly name: string;
  /** `true`: the name and every name under it; `false`: the name itself only. */
  readonly subdomains: boolean;
  /** Why it is refused. */
  readonly reason: string;
}

/**
 * Special-use and private-use names, refused by name (reason `special-use-name`) unless
 * `allowSpecialUseNames` is on. They are answered by a local resolver, multicast DNS, Tor or a
 * private zone rather than by public DNS, so what they reach depends on where the request runs:
 * refusing them by name protects hosts whose resolver differs from the one the check used, and
 * private zones whose addresses look public. `localhost` and `*.localhost` have their own rule
 * (`allowLocalhost`); single-label names (`metadata`, `instance-data`, `kubernetes`) theirs
 * (`allowSingleLabelNames`).
 *
 * Not on the list: `.test` and `.example` (RFC 6761 reserves them for tests and documentation;
 * they never resolve in public DNS, and tests resolve them with an injected resolver), and
 * `.localhost` (see above).
 *
 * @example
 * ```ts
 * SPECIAL_USE_NAMES.find((entry) => entry.name === 'internal')?.subdomains; // true
 * ```
 */
export const SPECIAL_USE_NAMES: readonly SpecialUseName[] = Object.freeze(
  (
    [
      ['local', true, 'multicast DNS on the local link (RFC 6762)'],
      [
        'arpa',
        true,
        'infrastructure: home.arpa home networks (RFC 8375), reverse DNS, ipv4only.arpa (RFC 7050)',
      ],
      [
        'internal',
        true,
        'reserved by ICANN for private use (2024); metadata.google.internal, *.ec2.internal, host.docker.internal',
      ],
      ['localdomain', true, 'the /etc/hosts convention localhost.localdomain'],
      ['invalid', true, 'never exists (RFC 6761)'],
      ['onion', true, 'Tor hidden services, never in DNS (RFC 7686)'],
      ['alt', true, 'non-DNS name spaces (RFC 9476)'],
      ['lan', true, 'private-use name seen in the wild (RFC 6762 appendix G)'],
      ['home', true, 'private-use name seen in the wild (RFC 6762 appendix G)'],
      ['corp', true, 'private-use name seen in the wild (RFC 6762 appendix G)'],
      ['intranet', true, 'private-use name seen in the wild (RFC 6762 appendix G)'],
      ['private', true, 'private-use name seen in the wild (RFC 6762 appendix G)'],
      ['svc', true, 'Kubernetes in-cluster service names (kubernetes.default.svc)'],
      ['kubernetes.default', false, 'the Kubernetes API server through the cluster search domains'],
      ['metadata.goog', false, 'Google Cloud instance metadata'],
      ['metadata.tencentyun.com', false, 'Tencent Cloud instance metadata'],
    ] as const
  ).map(([name, subdomains, reason]) => Object.freeze({ name, subdomains, reason })),
);

const EXACT: ReadonlySet<string> = new Set(SPECIAL_USE_NAMES.map((entry) => entry.name));
const SUFFIXES: readonly string[] = SPECIAL_USE_NAMES.filter((entry) => entry.subdomains).map(
  (entry) => `.${entry.name}`,
);

/** @internal Whether `name` (lower case, no trailing dot) is a special-use name. */
export function isSpecialUseName(name: string): boolean {
  if (EXACT.has(name)) return true;
  for (const suffix of SUFFIXES) if (name.endsWith(suffix)) return true;
  return false;
}
