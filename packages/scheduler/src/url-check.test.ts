import { createEgress, type Egress, type Resolver, UrlGuardError } from '@again/url-guard';
import { afterAll, describe, expect, it } from 'vitest';
import { parseJob } from './parse-job.js';
import { checkJobUrls, type UrlCheck } from './url-check.js';

const spec = parseJob({
  schedule: { every: 1_000 },
  request: { url: 'https://api.example.com/run' },
  callback: { url: 'https://hooks.example.com/cb' },
}).spec;

function coded(code: string): Error {
  return Object.assign(new Error(`getaddrinfo ${code}`), { code });
}

const egresses: Egress[] = [];
afterAll(async () => {
  await Promise.all(egresses.map((egress) => egress.close()));
});

/** A real egress whose resolver answers per host: an address, or an error to throw. */
function egressWith(answers: Record<string, string | Error>): Egress {
  const resolver: Resolver = async (hostname) => {
    const answer = answers[hostname];
    if (answer === undefined) throw coded('ENOTFOUND');
    if (answer instanceof Error) throw answer;
    return [{ address: answer, family: 4 }];
  };
  const egress = createEgress({ resolver });
  egresses.push(egress);
  return egress;
}

function checkOf(egress: Egress): UrlCheck {
  return (url, signal) => egress.check(url, signal === undefined ? {} : { signal });
}

describe('checkJobUrls with the url-guard egress', () => {
  it('accepts public URLs', async () => {
    const egress = egressWith({
      'api.example.com': '93.184.215.14',
      'hooks.example.com': '93.184.215.15',
    });
    const result = await checkJobUrls(spec, checkOf(egress), egress.isRefusal);
    expect(result).toEqual({ issues: [], cause: undefined, unchecked: [] });
  });

  it('refuses a URL the policy refuses, with its path and the guard error as cause', async () => {
    const egress = egressWith({
      'api.example.com': '93.184.215.14',
      'hooks.example.com': '10.0.0.7',
    });
    const result = await checkJobUrls(spec, checkOf(egress), egress.isRefusal);
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]?.path).toBe('callback.url');
    expect(result.issues[0]?.message).toMatch(/^URL refused: .*\(refused: private-address\)$/);
    expect(result.cause).toBeInstanceOf(UrlGuardError);
    expect((result.cause as UrlGuardError).reason).toBe('private-address');
  });

  it.each([
    ['a temporary DNS failure (EAI_AGAIN)', coded('EAI_AGAIN')],
    ['a resolver timeout (ETIMEOUT)', coded('ETIMEOUT')],
    ['a name that does not resolve (ENOTFOUND)', coded('ENOTFOUND')],
  ])('does not reject the job for %s: the URL is left unchecked', async (_name, failure) => {
    const egress = egressWith({ 'api.example.com': failure, 'hooks.example.com': '93.184.215.15' });
    const result = await checkJobUrls(spec, checkOf(egress), egress.isRefusal);
    expect(result.issues).toEqual([]);
    expect(result.cause).toBeUndefined();
    expect(result.unchecked.map((entry) => entry.path)).toEqual(['request.url']);
    expect(result.unchecked[0]?.error).toMatchObject({
      reason: 'dns-failure',
      policyRefusal: false,
    });
  });

  it('reports both URLs when both are refused, the first cause kept', async () => {
    const egress = egressWith({
      'api.example.com': '127.0.0.1',
      'hooks.example.com': '169.254.169.254',
    });
    const result = await checkJobUrls(spec, checkOf(egress), egress.isRefusal);
    expect(result.issues.map((issue) => issue.path)).toEqual(['request.url', 'callback.url']);
    expect((result.cause as UrlGuardError).reason).toBe('private-address');
  });
});

describe('checkJobUrls with other egresses', () => {
  it('checks nothing without a check', async () => {
    expect(await checkJobUrls(spec, null, null)).toEqual({
      issues: [],
      cause: undefined,
      unchecked: [],
    });
  });

  it('refuses a URL whose check returns { ok: false }, with its reason', async () => {
    const check: UrlCheck = async (url) =>
      url.includes('hooks') ? { ok: false, reason: 'blocked host' } : { ok: true };
    const result = await checkJobUrls(spec, check, () => false);
    expect(result.issues).toEqual([{ path: 'callback.url', message: 'URL refused: blocked host' }]);
    expect(result.cause).toEqual({ ok: false, reason: 'blocked host' });
  });

  it('without isRefusal, anything the check throws refuses (throw to refuse)', async () => {
    const check: UrlCheck = async () => {
      throw new Error('nope');
    };
    const result = await checkJobUrls(spec, check, undefined);
    expect(result.issues.map((issue) => issue.path)).toEqual(['request.url', 'callback.url']);
    expect(result.issues[0]?.message).toBe('URL refused: nope');
  });

  it('with isRefusal, only what it calls a refusal refuses; a throwing isRefusal refuses', async () => {
    const refusal = new Error('policy says no');
    const outage = new Error('resolver down');
    const check: UrlCheck = async (url) => {
      throw url.includes('hooks') ? refusal : outage;
    };
    const result = await checkJobUrls(spec, check, (error) => error === refusal);
    expect(result.issues.map((issue) => issue.path)).toEqual(['callback.url']);
    expect(result.unchecked).toEqual([{ path: 'request.url', error: outage }]);
    const broken = await checkJobUrls(spec, check, () => {
      throw new Error('classifier broke');
    });
    expect(broken.issues).toHaveLength(2);
  });

  it('passes the signal to the check and throws its reason when it aborts', async () => {
    const controller = new AbortController();
    const signals: Array<AbortSignal | undefined> = [];
    const check: UrlCheck = (_url, signal) => {
      signals.push(signal);
      return new Promise((_, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    };
    const pending = checkJobUrls(spec, check, () => false, controller.signal);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(signals).toEqual([controller.signal, controller.signal]);
    await expect(checkJobUrls(spec, check, null, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('checks only the request URL of a job without a callback', async () => {
    const seen: string[] = [];
    const check: UrlCheck = async (url) => {
      seen.push(url);
      return { ok: true };
    };
    const plain = parseJob({
      schedule: { every: 1 },
      request: { url: 'https://a.example.com/' },
    }).spec;
    await checkJobUrls(plain, check, null);
    expect(seen).toEqual(['https://a.example.com/']);
  });
});
