export { DEFAULT_TEMPORARY_ERRORS, type TemporaryErrorDefault } from './defaults.js';
export { RegistryError, type RegistryErrorCode, type RegistryErrorOptions } from './errors.js';
export {
  type CodeMatcher,
  type ErrorClass,
  type ErrorPredicate,
  type Matcher,
  matchesAny,
  type NameMatcher,
} from './matcher.js';
export { type MatchOptions, REGISTRY_DEFAULTS, type RegistryOptions } from './options.js';
export { createRegistry, type Registry } from './registry.js';
