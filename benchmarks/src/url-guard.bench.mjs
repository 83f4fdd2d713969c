// Checks per second of @again/url-guard's egress.check(): IP literal hosts (no DNS), names with a
// cached answer (an injected resolver returning a constant public address), and refusals.
// Each scenario runs RUNS times for ITERATIONS sequential checks; the median run is reported.
// Run with `pnpm bench url-guard` from the repository root.
import { classifyAddress, createEgress } from '@again/url-guard';

const RUNS = 7;
const ITERATIONS = 10_000;

const cachedResolver = async () => [{ address: '93.184.215.14', family: 4 }];
const literals = createEgress({ allowIpLiterals: true, resolver: cachedResolver });
const names = createEgress({ resolver: cachedResolver });
const dualStack = createEgress({
  resolver: async () => [
    { address: '93.184.215.14', family: 4 },
    { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
  ],
});

const scenarios = [
  ['literal IPv4 (allowed)', () => literals.check('https://93.184.215.14/hooks/notify?id=42')],
  [
    'literal IPv6 (allowed)',
    () => literals.check('https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hooks'),
  ],
  ['name, cached A answer', () => names.check('https://hooks.example.com/notify?id=42')],
  ['name, cached A + AAAA', () => dualStack.check('https://api.example.com/v1/items')],
  ['refused literal (127.0.0.1)', () => literals.check('https://127.0.0.1/').catch(() => {})],
  ['refused scheme (http)', () => names.check('http://hooks.example.com/').catch(() => {})],
];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measure(fn) {
  for (let i = 0; i < 2_000; i++) await fn(); // warm-up
  const rates = [];
  for (let run = 0; run < RUNS; run++) {
    globalThis.gc?.();
    const started = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) await fn();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rates.push(ITERATIONS / seconds);
  }
  return { median: median(rates), min: Math.min(...rates), max: Math.max(...rates) };
}

const format = (n) => Math.round(n).toLocaleString('en-US').padStart(10);
console.log(
  `url-guard: checks per second, median of ${RUNS} runs x ${ITERATIONS.toLocaleString('en-US')} sequential checks`,
);
console.log(
  `${'scenario'.padEnd(30)} ${'median/s'.padStart(10)} ${'min/s'.padStart(10)} ${'max/s'.padStart(10)}  µs/check`,
);
for (const [label, fn] of scenarios) {
  const { median: rate, min, max } = await measure(fn);
  console.log(
    `${label.padEnd(30)} ${format(rate)} ${format(min)} ${format(max)}  ${(1e6 / rate).toFixed(2).padStart(8)}`,
  );
}

const addresses = [
  '8.8.8.8',
  '10.1.2.3',
  '::ffff:7f00:1',
  '2001:4860:4860::8888',
  '64:ff9b::a9fe:a9fe',
];
const classifyRates = [];
for (let run = 0; run < RUNS; run++) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS * 5; i++) classifyAddress(addresses[i % addresses.length]);
  classifyRates.push((ITERATIONS * 5) / (Number(process.hrtime.bigint() - started) / 1e9));
}
const classifyMedian = median(classifyRates);
console.log(
  `${'classifyAddress (mixed)'.padEnd(30)} ${format(classifyMedian)} ${format(Math.min(...classifyRates))} ${format(Math.max(...classifyRates))}  ${(1e6 / classifyMedian).toFixed(2).padStart(8)}`,
);

await Promise.all([literals.close(), names.close(), dualStack.close()]);
