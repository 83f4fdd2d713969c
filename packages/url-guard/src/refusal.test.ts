/**
 * Which guard errors are policy refusals and which resolver failures are temporary: the fields
 * on `UrlGuardError`, the structural `isUrlPolicyRefusal`, and `egress.isRefusal` with fake
 * resolvers that fail in each way.
 */

import { startHttpServer } from '@again/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createEgress, type Egress } from './egress.js';
import { URL_GUARD_REASONS, UrlGuardError } from './errors.js';
import { isTemporaryResolverFailure, isUrlPolicyRefusal } from './refusal.js';
import type { Resolver } from './resolver.js';

const PUBLIC = '93.184.215.14';

function coded(code: string, message = `lookup ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/** A resolver for `public.example.com` that fails every other name with `error`. */
function failing(error: unknown): Resolver {
  return async (hostname) => {
    if (hostname === 'public.example.com') return [{ address: PUBLIC, family: 4 }];
    if (hostname === 'private.example.com') return [{ address: '10.0.0.1', family: 4 }];
    throw error;
  };
}

const egresses: Egress[] = [];
afterAll(async () => {
  await Promise.all(egresses.map((egress) => egress.close()));
});

function egressWith(resolver: Resolver): Egress {
  const egress = createEgress({ resolver });
  egresses.push(egress);
  return egress;
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('UrlGuardError.policyRefusal and temporary', () => {
  it.each(URL_GUARD_REASONS.filter((reason) => reason !== 'dns-failure'))(
    '%s is a policy refusal, never temporary',
    (reason) => {
      const error = new UrlGuardError(reason, 'refused', { cause: coded('EAI_AGAIN') });
      expect(error.policyRefusal).toBe(true);
      expect(error.temporary).toBe(false);
      expect(isUrlPolicyRefusal(error)).toBe(true);
    },
  );

  it('a dns-failure is not a policy refusal; its temporariness comes from the cause', () => {
    const temporary = new UrlGuardError('dns-failure', 'failed', { cause: coded('EAI_AGAIN') });
    expect(temporary).toMatchObject({
      policyRefusal: false,
      temporary: true,
      code: 'ERR_URL_REFUSED',
    });
    const missing = new UrlGuardError('dns-failure', 'failed', { cause: coded('ENOTFOUND') });
    expect(missing).toMatchObject({ policyRefusal: false, temporary: false });
    const empty = new UrlGuardError('dns-failure', 'no address');
    expect(empty.temporary).toBe(false);
    const forced = new UrlGuardError('dns-failure', 'socket gone', { temporary: true });
    expect(forced.temporary).toBe(true);
    expect(isUrlPolicyRefusal(temporary)).toBe(false);
    expect(isUrlPolicyRefusal(missing)).toBe(false);
  });

  it.each([
    ['EAI_AGAIN', true],
    ['EAI_MEMORY', true],
    ['ETIMEOUT', true],
    ['ETIMEDOUT', true],
    ['ESERVFAIL', true],
    ['EREFUSED', true],
    ['ECONNREFUSED', true],
    ['EBADRESP', true],
    ['ENOTFOUND', false],
    ['ENODATA', false],
    ['EAI_FAIL', false],
    ['EAI_NONAME', false],
    ['EBADNAME', false],
  ])('resolver code %s is temporary: %s', (code, expected) => {
    expect(isTemporaryResolverFailure(coded(code))).toBe(expected);
    // Wrapped one level deeper, as DNS-over-HTTPS resolvers do.
    expect(isTemporaryResolverFailure(new Error('resolve failed', { cause: coded(code) }))).toBe(
      expected,
    );
  });

  it('counts an AbortSignal.timeout TimeoutError as temporary, and unknown values as not', () => {
    expect(isTemporaryResolverFailure(new DOMException('timed out', 'TimeoutError'))).toBe(true);
    expect(isTemporaryResolverFailure(undefined)).toBe(false);
    expect(isTemporaryResolverFailure('EAI_AGAIN')).toBe(false);
    expect(isTemporaryResolverFailure(new Error('EAI_AGAIN in the message only'))).toBe(false);
  });
});

describe('isUrlPolicyRefusal', () => {
  const refusal = new UrlGuardError('private-address', 'refused', { address: '10.0.0.1' });

  it('finds a refusal along the cause chain and in AggregateError members', () => {
    expect(isUrlPolicyRefusal(new TypeError('fetch failed', { cause: refusal }))).toBe(true);
    const aggregate = new AggregateError([coded('ECONNREFUSED'), refusal], 'all failed');
    expect(isUrlPolicyRefusal(new Error('outer', { cause: aggregate }))).toBe(true);
    expect(isUrlPolicyRefusal(new AggregateError([coded('ECONNREFUSED')]))).toBe(false);
  });

  it('does not look inside a dns-failure for a refusal it wraps', () => {
    // check.ts wraps a resolver's non-IP answer (invalid-address) in a dns-failure.
    const inner = new UrlGuardError('invalid-address', 'not an IP');
    const outer = new UrlGuardError('dns-failure', 'bad answer', { cause: inner });
    expect(isUrlPolicyRefusal(outer)).toBe(false);
  });

  it('matches structurally, so errors from another copy of the package count', () => {
    expect(
      isUrlPolicyRefusal({ name: 'UrlGuardError', code: 'ERR_URL_REFUSED', policyRefusal: true }),
    ).toBe(true);
    expect(
      isUrlPolicyRefusal({ name: 'UrlGuardError', code: 'ERR_URL_REFUSED', policyRefusal: false }),
    ).toBe(false);
    // An older copy without the field is judged by its reason.
    expect(
      isUrlPolicyRefusal({ name: 'UrlGuardError', code: 'ERR_URL_REFUSED', reason: 'port' }),
    ).toBe(true);
    expect(
      isUrlPolicyRefusal({ name: 'UrlGuardError', code: 'ERR_URL_REFUSED', reason: 'dns-failure' }),
    ).toBe(false);
    // Name or code alone is not enough.
    expect(isUrlPolicyRefusal({ name: 'UrlGuardError', reason: 'port' })).toBe(false);
    expect(isUrlPolicyRefusal({ code: 'ERR_URL_REFUSED', reason: 'port' })).toBe(false);
  });

  it('is bounded and cycle-safe, and survives hostile errors', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isUrlPolicyRefusal(a)).toBe(false);

    let deep: unknown = refusal;
    for (let i = 0; i < 100; i++) deep = new Error(`level ${i}`, { cause: deep });
    expect(isUrlPolicyRefusal(deep)).toBe(false); // beyond the 32-error bound

    const selfAggregate = new AggregateError([], 'self');
    (selfAggregate as { errors: unknown[] }).errors = [selfAggregate, selfAggregate];
    expect(isUrlPolicyRefusal(selfAggregate)).toBe(false);

    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
      },
    );
    expect(isUrlPolicyRefusal(hostile)).toBe(false);
    expect(isUrlPolicyRefusal(new Error('outer', { cause: hostile }))).toBe(false);
    for (const value of [undefined, null, 0, 'ERR_URL_REFUSED', Symbol('x')]) {
      expect(isUrlPolicyRefusal(value)).toBe(false);
    }
  });
});

describe('egress.isRefusal with resolvers that fail in each way', () => {
  it.each([
    ['EAI_AGAIN (getaddrinfo, temporary)', coded('EAI_AGAIN'), true],
    ['ETIMEOUT (c-ares timeout)', coded('ETIMEOUT'), true],
    ['ESERVFAIL (server failure)', coded('ESERVFAIL'), true],
    ['TimeoutError (AbortSignal.timeout)', new DOMException('timed out', 'TimeoutError'), true],
    ['ENOTFOUND (no such name)', coded('ENOTFOUND'), false],
    ['ENODATA (no record)', coded('ENODATA'), false],
    ['a plain Error', new Error('resolver broke'), false],
  ])('%s: a dns-failure, not a refusal', async (_name, thrown, temporary) => {
    const egress = egressWith(failing(thrown));
    for (const attempt of [
      egress.check('https://down.example.com/'),
      egress.fetch('https://down.example.com/'),
    ]) {
      const error = await caught(attempt);
      expect(error).toBeInstanceOf(UrlGuardError);
      expect(error).toMatchObject({
        reason: 'dns-failure',
        policyRefusal: false,
        temporary,
      });
      expect((error as UrlGuardError).cause).toBe(thrown);
      expect(egress.isRefusal(error)).toBe(false);
      expect(isUrlPolicyRefusal(error)).toBe(false);
    }
  });

  it('a name that resolves to no address is a non-temporary dns-failure', async () => {
    const egress = egressWith(async () => []);
    const error = await caught(egress.check('https://empty.example.com/'));
    expect(error).toMatchObject({ reason: 'dns-failure', policyRefusal: false, temporary: false });
    expect(egress.isRefusal(error)).toBe(false);
  });

  it('a resolver answering a non-IP is a non-temporary dns-failure, not a refusal', async () => {
    const egress = egressWith(async () => [{ address: 'not-an-ip', family: 4 }]);
    const error = await caught(egress.check('https://odd.example.com/'));
    expect(error).toMatchObject({ reason: 'dns-failure', policyRefusal: false, temporary: false });
    expect(egress.isRefusal(error)).toBe(false);
  });

  it('a private answer, a bad scheme and an IP literal are refusals', async () => {
    const egress = egressWith(failing(coded('EAI_AGAIN')));
    for (const url of [
      'https://private.example.com/',
      'ftp://public.example.com/',
      'https://10.0.0.1/',
    ]) {
      for (const attempt of [egress.check(url), egress.fetch(url)]) {
        const error = await caught(attempt);
        expect(error).toMatchObject({
          code: 'ERR_URL_REFUSED',
          policyRefusal: true,
          temporary: false,
        });
        expect(egress.isRefusal(error)).toBe(true);
        expect(egress.isRefusal(new TypeError('fetch failed', { cause: error }))).toBe(true);
      }
    }
    expect(egress.isRefusal(coded('ECONNREFUSED'))).toBe(false);
    expect(egress.isRefusal(undefined)).toBe(false);
  });

  it('classifies a resolver failure at connect time (inside the dispatcher lookup) too', async () => {
    const server = await startHttpServer((_req, res) => res.end('ok'), { host: '127.0.0.2' });
    try {
      let calls = 0;
      // The check passes; the lookup at connect time (the second call) fails temporarily.
      const resolver: Resolver = async () => {
        calls++;
        if (calls === 1) return [{ address: '127.0.0.2', family: 4 }];
        throw coded('EAI_AGAIN');
      };
      const egress = createEgress({
        resolver,
        allowedSchemes: ['http'],
        allowedAddresses: ['127.0.0.2'],
      });
      egresses.push(egress);
      const error = await caught(egress.fetch(`http://service.example.com:${server.port}/`));
      expect(calls).toBe(2);
      expect(error).toMatchObject({ reason: 'dns-failure', policyRefusal: false, temporary: true });
      expect(egress.isRefusal(error)).toBe(false);
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });
});
