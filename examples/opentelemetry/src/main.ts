/**
 * The scheduler's runs and attempts as OpenTelemetry spans: a job whose target fails once (503)
 * then succeeds, traced with `traceScheduler` (./tracing.ts); the spans are printed as a tree.
 *
 * Run: pnpm --filter @again/example-opentelemetry start
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createScheduler } from '@again/scheduler';
import { createMemoryStorage } from '@again/storage-memory';
import { createEgress } from '@again/url-guard';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { traceScheduler } from './tracing.js';

// The target answers 503 the first time, 200 after.
let calls = 0;
const server = createServer((_req, res) => {
  calls++;
  res.writeHead(calls === 1 ? 503 : 200).end(calls === 1 ? 'busy' : 'ok');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/report`;

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('again-example');

const egress = createEgress({
  allowedSchemes: ['http'],
  allowIpLiterals: true,
  allowedAddresses: ['127.0.0.1'],
});
const scheduler = await createScheduler({ storage: createMemoryStorage(), egress, logger: false });
const stopTracing = traceScheduler(scheduler, tracer);

const done = new Promise<void>((resolve) => scheduler.on('run:succeeded', () => resolve()));
await scheduler.schedule({
  id: 'nightly-report',
  schedule: { at: Date.now() },
  request: { method: 'POST', url, body: { full: true } },
  retryPolicy: { maxRetries: 2, interval: 100, jitterStrategy: 'none' },
});
await done;
stopTracing();
await scheduler.stop();
await egress.close();
server.close();

const spans = exporter.getFinishedSpans();
const run = spans.find((span) => span.name.startsWith('again.run'));
console.log(`${run?.name}  (${run?.attributes['again.run.attempts']} attempts)`);
for (const span of spans.filter((s) => s.parentSpanContext?.spanId === run?.spanContext().spanId)) {
  const { attributes } = span;
  console.log(
    `  └ ${span.name} ${attributes['url.full']} → ${attributes['http.response.status_code']}` +
      ` (resend ${attributes['http.request.resend_count']}${span.status.code === 2 ? ', error' : ''})`,
  );
}
if (spans.length !== 3)
  throw new Error(`expected a run span and two attempt spans, got ${spans.length}`);
