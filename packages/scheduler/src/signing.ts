/**
 * Signed deliveries, Standard Webhooks style: the signing secrets registered on the scheduler by
 * name (checked once, when the scheduler is created, and never stored with a job), and the
 * `webhook-id`, `webhook-timestamp` and `webhook-signature` headers of a signed request or
 * callback.
 *
 * @module
 */
import { createHmac } from 'node:crypto';
import type { JobIssue } from './errors.js';
import type { JobSpec } from './job-types.js';

/**
 * Names of the headers a signed request or callback carries (Standard Webhooks). A job may not
 * set them itself.
 *
 * @example
 * ```ts
 * request.headers.get(WEBHOOK_HEADERS.signature); // 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4='
 * ```
 */
export const WEBHOOK_HEADERS: {
  readonly id: 'webhook-id';
  readonly timestamp: 'webhook-timestamp';
  readonly signature: 'webhook-signature';
} = Object.freeze({
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
});

/**
 * Bounds on signing secrets. The byte range is the Standard Webhooks specification's for
 * symmetric secrets (at least 24 random bytes, at most 64).
 *
 * @example
 * ```ts
 * SIGNING_LIMITS.minSecretBytes; // 24
 * ```
 */
export const SIGNING_LIMITS: {
  readonly minSecretBytes: number;
  readonly maxSecretBytes: number;
  readonly secretsPerName: number;
  readonly nameLength: number;
} = Object.freeze({
  minSecretBytes: 24,
  maxSecretBytes: 64,
  // Rotation needs two; a few more leave room without letting a header grow without bound.
  secretsPerName: 10,
  nameLength: 128,
});

/**
 * Signing secrets as `createScheduler` takes them: name → one secret, or several (rotation).
 * Each secret is `whsec_` followed by the base64 of 24 to 64 random bytes.
 *
 * @example
 * ```ts
 * const secrets: SigningSecretsInput = { main: ['whsec_new…', 'whsec_old…'] };
 * ```
 */
export type SigningSecretsInput =
  | ReadonlyMap<string, string | readonly string[]>
  | Readonly<Record<string, string | readonly string[]>>;

const SECRET_PREFIX = 'whsec_';
/** Standard base64 (the alphabet the `standardwebhooks` package decodes), padding optional. */
const BASE64 = /^([A-Za-z0-9+/]*)(={0,2})$/;
/** Longer than any valid secret; refused before it is looked at further. */
const MAX_SECRET_LENGTH = SECRET_PREFIX.length + 4 * Math.ceil(SIGNING_LIMITS.maxSecretBytes / 3);

/**
 * Why `secret` is not a usable Standard Webhooks secret, or `null` when it is. The message never
 * contains the secret (nor any part of it).
 *
 * @param secret - the value given for a secret.
 * @returns the problem, or `null`.
 * @example
 * ```ts
 * secretProblem('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'); // null
 * secretProblem('hunter2'); // 'must start with whsec_ (a Standard Webhooks secret)'
 * ```
 */
export function secretProblem(secret: unknown): string | null {
  if (typeof secret !== 'string') return 'must be a string: whsec_ followed by base64';
  if (!secret.startsWith(SECRET_PREFIX)) {
    return 'must start with whsec_ (a Standard Webhooks secret)';
  }
  const { minSecretBytes: min, maxSecretBytes: max } = SIGNING_LIMITS;
  const range = `the base64 of ${min} to ${max} random bytes`;
  if (secret.length > MAX_SECRET_LENGTH) return `must be whsec_ followed by ${range} (too long)`;
  const match = BASE64.exec(secret.slice(SECRET_PREFIX.length));
  const digits = match?.[1]?.length ?? 0;
  const padding = match?.[2]?.length ?? 0;
  // A lone trailing digit encodes no byte; padding, when given, must complete the last group.
  if (match === null || digits % 4 === 1 || (padding > 0 && (digits + padding) % 4 !== 0)) {
    return `must be whsec_ followed by standard base64 (A-Z, a-z, 0-9, +, /, = padding): ${range}`;
  }
  const bytes = Math.floor((digits * 3) / 4);
  if (bytes < min || bytes > max) {
    return `must be whsec_ followed by ${range} (it encodes ${bytes} bytes)`;
  }
  return null;
}

/**
 * The secrets registered under one name, decoded once. They live in a private field, so logging
 * or serialising the object shows none of them.
 *
 * @example
 * ```ts
 * const keys = SigningKeys.fromSecrets(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']);
 * keys.sign('job@2026-03-01T09:00:00.000Z', 1_772_355_600, '{"a":1}'); // 'v1,…'
 * ```
 */
export class SigningKeys {
  readonly #keys: readonly Buffer[];

  private constructor(keys: readonly Buffer[]) {
    this.#keys = keys;
  }

  /**
   * Decodes checked secrets.
   *
   * @param secrets - secrets that {@link secretProblem} accepts (at least one).
   * @returns the keys.
   * @throws `TypeError` for a secret {@link secretProblem} refuses (its message names the
   *   problem, never the secret).
   * @example
   * ```ts
   * const keys = SigningKeys.fromSecrets([process.env.WEBHOOK_SECRET ?? '']);
   * ```
   */
  static fromSecrets(secrets: readonly string[]): SigningKeys {
    if (secrets.length === 0) throw new TypeError('at least one signing secret is required');
    const keys = secrets.map((secret, index) => {
      const problem = secretProblem(secret);
      if (problem !== null) throw new TypeError(`signing secret ${index} ${problem}`);
      return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
    });
    return new SigningKeys(keys);
  }

  /** How many secrets sign each message. */
  get size(): number {
    return this.#keys.length;
  }

  /**
   * The `webhook-signature` value: `v1,` + base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`,
   * one per secret, space-separated (a receiver accepts the message when any one verifies).
   *
   * @param id - the message id (`webhook-id`).
   * @param timestamp - Unix seconds (`webhook-timestamp`).
   * @param body - the exact body sent: bytes, or text (signed as its UTF-8 bytes, as `fetch`
   *   sends it); `''` for a request without a body.
   * @returns the signatures.
   * @example
   * ```ts
   * const signature = keys.sign(occurrenceId, Math.floor(now / 1000), body);
   * ```
   */
  sign(id: string, timestamp: number, body: string | Uint8Array): string {
    const prefix = `${id}.${timestamp}.`;
    return this.#keys
      .map((key) => {
        const hmac = createHmac('sha256', key).update(prefix, 'utf8');
        if (typeof body === 'string') hmac.update(body, 'utf8');
        else hmac.update(body);
        return `v1,${hmac.digest('base64')}`;
      })
      .join(' ');
  }
}

/**
 * The signing secrets of a running scheduler, by name.
 *
 * @example
 * ```ts
 * const keys: SigningSecrets = new Map([['main', SigningKeys.fromSecrets([secret])]]);
 * ```
 */
export type SigningSecrets = ReadonlyMap<string, SigningKeys>;

/**
 * Checks the `signingSecrets` option and decodes it. Problems are added to `issues` with the
 * path `signingSecrets.<name>` (`signingSecrets.<name>.<index>` for one secret of several); no
 * message contains a secret.
 *
 * @param input - the option as given (`undefined` = none).
 * @param issues - where problems are added.
 * @returns the keys by name (empty when there are none, or when a problem was found).
 * @example
 * ```ts
 * const issues: JobIssue[] = [];
 * const secrets = resolveSigningSecrets(options.signingSecrets, issues);
 * ```
 */
export function resolveSigningSecrets(input: unknown, issues: JobIssue[]): SigningSecrets {
  const resolved = new Map<string, SigningKeys>();
  if (input === undefined) return resolved;
  let entries: Array<[unknown, unknown]>;
  if (input instanceof Map) entries = [...input.entries()];
  else if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    entries = Object.entries(input);
  } else {
    issues.push({ path: 'signingSecrets', message: 'must be a Map or an object of name: secret' });
    return resolved;
  }
  const before = issues.length;
  for (const [name, value] of entries) {
    if (typeof name !== 'string' || name.length === 0 || name.length > SIGNING_LIMITS.nameLength) {
      issues.push({
        path: 'signingSecrets',
        message: `names must be strings of 1 to ${SIGNING_LIMITS.nameLength} characters`,
      });
      continue;
    }
    const path = `signingSecrets.${name}`;
    const secrets: readonly unknown[] = Array.isArray(value) ? value : [value];
    if (secrets.length === 0 || secrets.length > SIGNING_LIMITS.secretsPerName) {
      issues.push({
        path,
        message: `must hold 1 to ${SIGNING_LIMITS.secretsPerName} secrets`,
      });
      continue;
    }
    let valid = true;
    for (const [index, secret] of secrets.entries()) {
      const problem = secretProblem(secret);
      if (problem === null) continue;
      valid = false;
      issues.push({ path: Array.isArray(value) ? `${path}.${index}` : path, message: problem });
    }
    if (valid) resolved.set(name, SigningKeys.fromSecrets(secrets as readonly string[]));
  }
  return issues.length > before ? new Map() : resolved;
}

/**
 * Issues for each `signWith` of `spec` that names no registered secret (at `request.signWith`,
 * `callback.signWith`).
 *
 * @param spec - the parsed job.
 * @param secrets - the scheduler's signing secrets.
 * @returns the issues (empty when every name is known).
 * @example
 * ```ts
 * issues.push(...unknownSigningNames(spec, options.signingSecrets));
 * ```
 */
export function unknownSigningNames(spec: JobSpec, secrets: SigningSecrets): JobIssue[] {
  const issues: JobIssue[] = [];
  const named: Array<readonly [string, string | null]> = [
    ['request.signWith', spec.request.signWith],
    ['callback.signWith', spec.callback?.signWith ?? null],
  ];
  for (const [path, name] of named) {
    if (name !== null && !secrets.has(name)) {
      issues.push({ path, message: missingSecretMessage(name) });
    }
  }
  return issues;
}

/**
 * Why a delivery signed with `name` cannot be sent: no secret of that name on this scheduler.
 *
 * @param name - the `signWith` name.
 * @returns the message.
 * @example
 * ```ts
 * missingSecretMessage('main'); // 'no signing secret named "main" is registered on this scheduler'
 * ```
 */
export function missingSecretMessage(name: string): string {
  return `no signing secret named "${name}" is registered on this scheduler`;
}

/**
 * The three Standard Webhooks headers of one signed attempt.
 *
 * @param keys - the secrets to sign with.
 * @param id - the message id (the occurrence id).
 * @param now - the scheduler's clock, epoch ms (sent as whole Unix seconds).
 * @param body - the exact body sent (`''` when there is none).
 * @returns `webhook-id`, `webhook-timestamp` and `webhook-signature`.
 * @example
 * ```ts
 * const headers = { ...jobHeaders, ...webhookHeaders(keys, occurrenceId, deps.now(), body ?? '') };
 * ```
 */
export function webhookHeaders(
  keys: SigningKeys,
  id: string,
  now: number,
  body: string | Uint8Array,
): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: keys.sign(id, timestamp, body),
  };
}
