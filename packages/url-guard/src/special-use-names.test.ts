import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FETCH_BAD_PORTS } from './bad-ports.js';
import { checkUrl } from './check.js';
import { UrlGuardError } from './errors.js';
import { isSpecialUseName, SPECIAL_USE_NAMES } from './special-use-names.js';

const guide = readFileSync(new URL('../../../docs/url-guard.md', import.meta.url), 'utf8');

describe('SPECIAL_USE_NAMES', () => {
  it('matches a name and, for suffix entries, every name below it', () => {
    for (const { name, subdomains } of SPECIAL_USE_NAMES) {
      expect(isSpecialUseName(name)).toBe(true);
      expect(isSpecialUseName(`a.b.${name}`)).toBe(subdomains);
      expect(isSpecialUseName(`x${name}`)).toBe(false);
      expect(isSpecialUseName(`${name}.example.com`)).toBe(false);
    }
    expect(Object.isFrozen(SPECIAL_USE_NAMES)).toBe(true);
    expect(SPECIAL_USE_NAMES.every((entry) => Object.isFrozen(entry))).toBe(true);
  });

  it('an allowedHosts entry does not allow a special-use name on its own', async () => {
    const resolver = async () => [{ address: '93.184.215.14', family: 4 }];
    const refused = await checkUrl('https://git.corp.internal/', {
      resolver,
      allowedHosts: ['*.corp.internal'],
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UrlGuardError);
    expect((refused as UrlGuardError).reason).toBe('special-use-name');
    await expect(
      checkUrl('https://git.corp.internal/', {
        resolver,
        allowedHosts: ['*.corp.internal'],
        allowSpecialUseNames: true,
      }),
    ).resolves.toMatchObject({ hostname: 'git.corp.internal' });
  });
});

describe('docs/url-guard.md', () => {
  it('lists every special-use name', () => {
    const section = guide.slice(guide.indexOf('## Special-use names'), guide.indexOf('## Ports'));
    for (const { name } of SPECIAL_USE_NAMES) expect(section).toContain(`\`${name}\``);
  });

  it('lists every bad port', () => {
    const section = guide.slice(guide.indexOf('## Ports fetch never reaches'));
    const text = section.slice(0, section.indexOf('Port 0 is refused'));
    const listed = new Set<number>();
    for (const [, from, to] of text.matchAll(/\b(\d+)(?:–(\d+))?\b/g)) {
      for (let port = Number(from); port <= Number(to ?? from); port++) listed.add(port);
    }
    for (const port of FETCH_BAD_PORTS) expect(listed.has(port), `port ${port}`).toBe(true);
  });
});
