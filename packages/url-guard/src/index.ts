export type { EgressConnectOptions, EgressDispatcherOptions } from './agent.js';
export { FETCH_BAD_PORTS } from './bad-ports.js';
export type { CheckedAddress, CheckedUrl, CheckUrlOptions } from './check.js';
export { checkUrl } from './check.js';
export type {
  AddressClassification,
  AddressKind,
  EmbeddedIpv4,
  Ipv4Embedding,
} from './classify.js';
export { classifyAddress } from './classify.js';
export type { Egress, EgressOptions } from './egress.js';
export { createEgress, createGuardedAgent } from './egress.js';
export type { UrlGuardErrorDetails, UrlGuardReason } from './errors.js';
export { URL_GUARD_REASONS, UrlGuardError, UrlPolicyError } from './errors.js';
export type { NormalizedUrlPolicy, UrlPolicyOptions, UrlScheme } from './policy.js';
export { createUrlPolicy, URL_POLICY_DEFAULTS } from './policy.js';
export { isTemporaryResolverFailure, isUrlPolicyRefusal } from './refusal.js';
export type { ResolvedAddress, Resolver } from './resolver.js';
export { systemResolver } from './resolver.js';
export { ADDITIONAL_NON_GLOBAL_BLOCKS } from './special-purpose/additional.data.js';
export { IANA_IPV4_SPECIAL_PURPOSE } from './special-purpose/iana-ipv4.data.js';
export { IANA_IPV6_SPECIAL_PURPOSE } from './special-purpose/iana-ipv6.data.js';
export type { SpecialPurposeEntry, SpecialPurposeRegistry } from './special-purpose/types.js';
export type { SpecialUseName } from './special-use-names.js';
export { SPECIAL_USE_NAMES } from './special-use-names.js';
