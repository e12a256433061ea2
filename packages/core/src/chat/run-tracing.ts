import { type Attributes, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Usage } from '../domain/chat';
import type { StartedRun } from '../ports/run-repository';
import { markFailed } from '../tracing/tracing';

/** A run's span says who and what by id only: never the user's email or what was written. */
export function runSpanAttributes(run: StartedRun, userId: string, model: string, requestId?: string): Attributes {
  return {
    'hearth.run.id': run.runId,
    'hearth.user.id': userId,
    'hearth.conversation.id': run.conversationId,
    'hearth.run.model': model,
    ...(requestId ? { 'hearth.request.id': requestId } : {}),
  };
}

/** On the run's span (the active one while it runs): a cancel, or a failure with its appCode. */
export function runEndedEarly(event: 'run.cancelled' | 'run.failed', appCode?: string): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  span.addEvent(event, appCode ? { 'hearth.app_code': appCode } : {});
  if (appCode) markFailed(span, appCode);
}

/** How the run ended, and what it used, on its span. */
export function runEndTraced(status: 'completed' | 'failed' | 'cancelled', usage: Usage): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  // Also for a run whose end could not be recorded, which has no failure event.
  if (status === 'failed') span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttributes({
    'hearth.run.status': status,
    'gen_ai.usage.input_tokens': usage.promptTokens,
    'gen_ai.usage.output_tokens': usage.completionTokens,
    'hearth.run.cost_usd': usage.costUsd,
  });
}
