/**
 * Turns @again/scheduler's events into OpenTelemetry spans: one span per run (internal), and one
 * client span per attempt under it, with the attributes of the HTTP semantic conventions.
 */
import type { Scheduler } from '@again/scheduler';
import {
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/**
 * Follows a scheduler's runs and attempts with spans from `tracer`.
 *
 * @param scheduler - the scheduler to watch
 * @param tracer - where spans are made
 * @returns a function that stops watching
 */
export function traceScheduler(scheduler: Scheduler, tracer: Tracer): () => void {
  const runs = new Map<string, Span>();
  const attempts = new Map<string, Span>();
  const offs = [
    scheduler.on('run:started', (event) => {
      runs.set(
        event.occurrenceId,
        tracer.startSpan(`again.run ${event.jobId}`, {
          kind: SpanKind.INTERNAL,
          attributes: {
            'again.job.id': event.jobId,
            'again.occurrence.id': event.occurrenceId,
            'again.occurrence.scheduled_at': event.scheduledAt.toISOString(),
            'again.run.trigger': event.trigger,
          },
        }),
      );
    }),
    scheduler.on('attempt:started', (event) => {
      const parent = runs.get(event.occurrenceId);
      // The attempt is a child of its run's span.
      const parentContext =
        parent === undefined ? context.active() : trace.setSpan(context.active(), parent);
      const url = new URL(event.url);
      attempts.set(
        `${event.occurrenceId}#${event.attempt}`,
        tracer.startSpan(
          event.method,
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'http.request.method': event.method,
              'url.full': event.url,
              'server.address': url.hostname,
              'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
              // The semantic conventions count resends: the first attempt is not one.
              'http.request.resend_count': event.attempt - 1,
            },
          },
          parentContext,
        ),
      );
    }),
    scheduler.on('attempt:succeeded', (event) => {
      const span = attempts.get(`${event.occurrenceId}#${event.attempt}`);
      span?.setAttribute('http.response.status_code', event.statusCode);
      span?.end();
    }),
    scheduler.on('attempt:failed', (event) => {
      const span = attempts.get(`${event.occurrenceId}#${event.attempt}`);
      if (event.statusCode !== null)
        span?.setAttribute('http.response.status_code', event.statusCode);
      span?.setAttribute(
        'error.type',
        event.statusCode === null ? 'transport' : String(event.statusCode),
      );
      span?.setStatus({ code: SpanStatusCode.ERROR, message: event.error });
      span?.end();
    }),
    scheduler.on('run:succeeded', (event) => {
      const span = runs.get(event.occurrenceId);
      span?.setAttribute('again.run.attempts', event.attempts);
      span?.end();
      runs.delete(event.occurrenceId);
    }),
    scheduler.on('run:failed', (event) => {
      const span = runs.get(event.occurrenceId);
      span?.setAttribute('again.run.attempts', event.attempts);
      span?.setStatus({ code: SpanStatusCode.ERROR, message: event.error });
      span?.end();
      runs.delete(event.occurrenceId);
    }),
    scheduler.on('run:canceled', (event) => {
      const span = runs.get(event.occurrenceId);
      span?.setStatus({ code: SpanStatusCode.ERROR, message: `canceled: ${event.reason}` });
      span?.end();
      runs.delete(event.occurrenceId);
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
