import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';

/**
 * Runs one attempt of a job in a span of its own trace ("job TYPE"): the job's database and
 * blob store spans are its children, whichever request happened to wake the runner.
 */
export async function inJobSpan<T>(
  tracer: Tracer,
  job: { id: number; type: string; attempt: number; maxAttempts: number },
  run: () => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(
    `job ${job.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'berth.job.id': job.id,
        'berth.job.type': job.type,
        'berth.job.attempt': job.attempt,
        'berth.job.max_attempts': job.maxAttempts,
      },
    },
    ROOT_CONTEXT,
  );
  try {
    return await context.with(trace.setSpan(ROOT_CONTEXT, span), run);
  } catch (err) {
    span.recordException(err as Error);
    span.setAttribute(ATTR_ERROR_TYPE, (err as Error)?.name ?? 'Error');
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}
