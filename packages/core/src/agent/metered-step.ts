import type { Span } from '@opentelemetry/api';
import { countMessageTokens, countTokens, truncateToTokens } from '../llm/token-count';
import type { Grant, Ledger } from '../ports/ledger';
import type { LlmClient, LlmMessage, LlmStreamEvent, LlmTool, LlmToolCall } from '../ports/llm-client';
import { inSpan } from '../tracing/tracing';

/** How often a streaming step tells the ledger what it has received, for billing after a crash. */
const PROGRESS_INTERVAL_MS = 1_000;

export interface StepRequest {
  userId: string;
  runId: string | null;
  model: string;
  messages: LlmMessage[];
  tools?: LlmTool[];
  maxOutputTokens: number;
  /** Output tokens to reserve at a time, extending the grant while the answer streams; unset: all at once. */
  sliceTokens?: number | undefined;
  signal: AbortSignal;
  apiKey?: string | undefined;
  /** See AgentTurn.accepted: false releases the step's reservation instead of billing it. */
  accepted: Promise<boolean>;
}

export interface StepUsage {
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
}

export interface StepResult {
  text: string;
  calls: LlmToolCall[];
  /** The answer reached the output the budget could pay for and was stopped there: no tool calls then. */
  cut: boolean;
}

/**
 * The output tokens a step is paid for: a first slice, then one more slice at a time, asked for
 * while half of the last one is still left so the stream seldom waits. Once the ledger has nothing
 * more to give (the budget, or the step's ceiling, is reached) the step ends at what it holds.
 */
class OutputAllowance {
  private pending: Promise<void> | null = null;
  private exhausted = false;

  constructor(
    private readonly ledger: Ledger,
    public grant: Grant,
    private readonly sliceTokens: number,
  ) {}

  /** The output tokens paid for so far. */
  get paid(): number {
    return this.grant.maxOutputTokens;
  }

  /** Waits, once `total` tokens are past what is paid for, until they are paid or nothing more comes. */
  async makeRoom(total: number): Promise<void> {
    while (total > this.grant.maxOutputTokens && !this.exhausted) {
      this.askMore(total - this.grant.maxOutputTokens);
      await this.pending;
    }
  }

  /** Asks for the next slice early, without waiting for it, once less than half of one is left. */
  prefetch(total: number): void {
    if (this.grant.maxOutputTokens - total < this.sliceTokens / 2) this.askMore(0);
  }

  /** Waits for an extension under way: the step must not settle while one may still be granted. */
  async idle(): Promise<void> {
    await this.pending;
  }

  private askMore(needed: number): void {
    if (this.pending || this.exhausted) return;
    if (this.sliceTokens <= 0) {
      // Reserved whole: there is nothing more to ask for.
      this.exhausted = true;
      return;
    }
    const before = this.grant.maxOutputTokens;
    this.pending = this.ledger
      .extend(this.grant, Math.max(this.sliceTokens, needed))
      .then(
        (grant) => {
          this.grant = grant;
          if (grant.maxOutputTokens <= before) this.exhausted = true;
        },
        () => {
          // The store failed: stop at what is held rather than risk what is not.
          this.exhausted = true;
        },
      )
      .finally(() => {
        this.pending = null;
      });
  }
}

/** The text of an event that the provider bills as output: the answer, its reasoning, its tool calls. */
function outputText(event: LlmStreamEvent): string | undefined {
  return event.type === 'text' || event.type === 'reasoning' || event.type === 'tool_call_delta'
    ? event.text
    : undefined;
}

/**
 * One model call inside the budget: reserve its first slice of output (BUDGET_EXCEEDED before any
 * call when even a minimal answer does not fit), call with max_tokens at the most the budget could
 * ever pay, count the output as it arrives and extend the reservation ahead of it; when no more
 * can be granted, stop reading, abort the request and end the step with what arrived. Whatever the
 * provider does, it is never billed past its grant. Settled for what was actually used, whether the
 * call finished, failed or was cancelled; without the provider's usage, received tokens are counted
 * here: never billed as free. A step of a turn that was never accepted (its message could not be
 * stored) bills nothing. Traced as an `llm.call` span, its reservation's store work inside it.
 */
export function meteredStep(
  llm: LlmClient,
  ledger: Ledger,
  request: StepRequest,
  onEvent: (event: LlmStreamEvent) => void,
  onSettled: (usage: StepUsage) => void,
): Promise<StepResult> {
  const attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': request.model,
    ...(request.runId ? { 'hearth.run.id': request.runId } : {}),
  };
  return inSpan('llm.call', attributes, (span) => step(llm, ledger, request, onEvent, onSettled, span));
}

async function step(
  llm: LlmClient,
  ledger: Ledger,
  request: StepRequest,
  onEvent: (event: LlmStreamEvent) => void,
  onSettled: (usage: StepUsage) => void,
  span: Span,
): Promise<StepResult> {
  const promptTokens =
    countMessageTokens(request.messages) + (request.tools?.length ? countTokens(JSON.stringify(request.tools)) : 0);
  const grant = await ledger.reserve({
    userId: request.userId,
    runId: request.runId,
    model: request.model,
    promptTokens,
    maxOutputTokens: request.maxOutputTokens,
    ...(request.sliceTokens ? { firstSliceTokens: request.sliceTokens } : {}),
  });
  const allowance = new OutputAllowance(ledger, grant, request.sliceTokens ?? 0);
  const stop = new AbortController();
  let text = '';
  let reasoning = '';
  let callText = '';
  let calls: LlmToolCall[] = [];
  let reported: { promptTokens: number; completionTokens: number } | undefined;
  // Counted piece by piece as it arrives (a little above the count of the whole text): what is held to the grant.
  let received = 0;
  let cut = false;
  let lastProgress = Date.now();
  span.setAttribute('gen_ai.request.max_tokens', grant.outputCeiling);
  const requestedAt = performance.now();
  let firstPiece = true;
  try {
    for await (const event of llm.stream({
      model: request.model,
      messages: request.messages,
      signal: AbortSignal.any([request.signal, stop.signal]),
      maxTokens: grant.outputCeiling,
      ...(request.apiKey ? { apiKey: request.apiKey } : {}),
      ...(request.tools?.length ? { tools: request.tools } : {}),
    })) {
      const piece = outputText(event);
      if (piece !== undefined) {
        if (firstPiece) {
          firstPiece = false;
          span.setAttribute('hearth.llm.time_to_first_token_ms', Math.round(performance.now() - requestedAt));
        }
        const tokens = countTokens(piece);
        // An await per token would cost more than the stream itself: only past what is paid for.
        if (received + tokens > allowance.paid) await allowance.makeRoom(received + tokens);
        const room = allowance.paid;
        if (received + tokens > room) {
          // The grant ends inside this piece: keep what fits of the text, and stop the provider.
          const kept = truncateToTokens(piece, room - received);
          if (kept && event.type === 'text') {
            text += kept;
            onEvent({ type: 'text', text: kept });
          } else if (kept && event.type === 'reasoning') {
            reasoning += kept;
            onEvent({ type: 'reasoning', text: kept });
          }
          cut = true;
          stop.abort();
          break;
        }
        received += tokens;
        allowance.prefetch(received);
        if (event.type === 'text') text += piece;
        else if (event.type === 'reasoning') reasoning += piece;
        else callText += piece;
        if (Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
          lastProgress = Date.now();
          // Not awaited: the stream must not wait on the store. A lost report only costs accuracy after a crash.
          ledger.progress(allowance.grant, received).catch(() => {});
        }
      } else if (event.type === 'tool_calls') calls = event.calls;
      else if (event.type === 'usage') reported = event;
      else if (event.type === 'finish') span.setAttribute('gen_ai.response.finish_reasons', [event.reason]);
      onEvent(event);
    }
  } finally {
    await allowance.idle();
    if (await request.accepted) {
      const used = reported ?? {
        promptTokens,
        completionTokens: countTokens(text) + countTokens(reasoning) + countTokens(callText),
      };
      span.setAttributes({
        'gen_ai.usage.input_tokens': used.promptTokens,
        'gen_ai.usage.output_tokens': used.completionTokens,
        ...(cut ? { 'hearth.llm.cut': true } : {}),
      });
      const { costMicros } = await ledger.settle(allowance.grant, used);
      onSettled({ ...used, costMicros });
    } else {
      await ledger.release(allowance.grant);
    }
  }
  // Tool calls cut off mid-way are not run: the turn ends with the text.
  return { text, calls: cut ? [] : calls, cut };
}
