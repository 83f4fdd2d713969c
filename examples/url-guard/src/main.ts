// Validate outbound URLs with @again/url-guard, offline: an injected resolver stands in for DNS.
// Part 1 checks a list of URLs against the default policy and prints allowed/refused with the
// reason code. Part 2 starts one HTTP server on 127.0.0.1 and shows the guarded fetch refusing a
// redirect to a metadata address and a DNS rebinding, without ever opening those connections.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEgress, type Resolver, UrlGuardError } from '@again/url-guard';

// A fixed "DNS": documentation-style public answers, and names that point inward.
const zone: Record<string, string[]> = {
  'hooks.example.com': ['93.184.215.14'],
  'api.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  '127.0.0.1.nip.io': ['127.0.0.1'],
  'metadata.google.internal': ['169.254.169.254'],
  'mixed.example.com': ['93.184.215.14', '10.0.0.7'],
  'v6-mapped.example.com': ['::ffff:127.0.0.1'],
};
const offlineResolver: Resolver = async (hostname) => {
  const answers = zone[hostname.replace(/\.$/, '')];
  if (answers === undefined) throw new Error(`ENOTFOUND ${hostname}`);
  return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

const urls = [
  'https://hooks.example.com/notify',
  'https://api.example.com./v1/items?page=2',
  'http://hooks.example.com/notify',
  'https://user:secret@hooks.example.com/',
  'https://127.0.0.1/',
  'https://2130706433/',
  'https://[::ffff:127.0.0.1]/',
  'https://localhost/',
  'https://LOCALHOST./admin',
  'https://metadata/computeMetadata/v1/',
  'https://127.0.0.1.nip.io/',
  'https://metadata.google.internal/computeMetadata/v1/',
  'https://mixed.example.com/',
  'https://v6-mapped.example.com/',
  'https://hooks.example.com:0/',
  'https://hooks.example.com\\@127.0.0.1/',
  'https://%31%32%37.0.0.1/',
  'https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/',
  'https://exаmple.com/', // Cyrillic "а"
  'https://no-such-host.example.com/',
  `https://hooks.example.com/${'a'.repeat(3000)}`,
];

async function validateList(): Promise<void> {
  const egress = createEgress({ resolver: offlineResolver });
  console.log('Part 1: the default policy, offline\n');
  for (const url of urls) {
    const shown = url.length > 60 ? `${url.slice(0, 57)}...` : url;
    try {
      const checked = await egress.check(url);
      const addresses = checked.addresses.map((a) => a.address).join(', ');
      console.log(`  allowed  ${shown.padEnd(62)} -> ${addresses}`);
    } catch (error) {
      if (!(error instanceof UrlGuardError)) throw error;
      const detail = error.address ?? error.host ?? '';
      console.log(`  refused  ${shown.padEnd(62)} ${error.reason.padEnd(18)} ${detail}`);
    }
  }
  await egress.close();
}

async function guardedFetch(): Promise<void> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    if (req.url === '/bounce') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello from ${req.headers.host}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  // "partner.example" is our 127.0.0.1 server, allowed deliberately for the demo. "rebind.example"
  // answers the same address first, then a private one when the connection resolves it again.
  let rebindCalls = 0;
  const resolver: Resolver = async (hostname) => {
    if (hostname === 'partner.example') return [{ address: '127.0.0.1', family: 4 }];
    if (hostname === 'rebind.example') {
      rebindCalls++;
      return [{ address: rebindCalls === 1 ? '127.0.0.1' : '10.0.0.7', family: 4 }];
    }
    throw new Error(`ENOTFOUND ${hostname}`);
  };
  const egress = createEgress({
    allowedSchemes: ['http'],
    allowedAddresses: ['127.0.0.1'],
    allowedPorts: [port],
    resolver,
  });

  console.log(`\nPart 2: the guarded fetch against a server on 127.0.0.1:${port}\n`);
  const ok = await egress.fetch(`http://partner.example:${port}/hook`, {
    method: 'POST',
    body: '{}',
  });
  console.log(`  POST /hook             -> ${ok.status} "${await ok.text()}"`);
  for (const [label, url] of [
    ['/bounce (302 to metadata)', `http://partner.example:${port}/bounce`],
    ['rebind.example          ', `http://rebind.example:${port}/hook`],
  ] as const) {
    try {
      await egress.fetch(url);
      console.log(`  ${label} -> unexpectedly allowed`);
    } catch (error) {
      if (!(error instanceof UrlGuardError)) throw error;
      console.log(
        `  ${label} -> refused: ${error.reason} (${error.address ?? error.host ?? error.url})`,
      );
    }
  }
  // The refused hops never reached any server: only the two first hops arrived here.
  console.log(`\n  Requests the server received: ${received.join(', ')}`);
  await egress.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

await validateList();
await guardedFetch();
