import { countMessageTokens, countTokens } from '../llm/token-count';
import type { Ledger } from '../ports/ledger';
import type { LlmClient, LlmMessage, LlmStreamEvent, LlmTool, LlmToolCall } from '../ports/llm-client';

/** How often a streaming step tells the ledger what it has received, for billing after a crash. */
const PROGRESS_INTERVAL_MS = 1_000;

export interface StepRequest {
  userId: string;
  runId: string | null;
  model: string;
  messages: LlmMessage[];
  tools?: LlmTool[];
  maxOutputTokens: number;
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
}

/**
 * One model call inside the budget: reserve its most expensive outcome first (BUDGET_EXCEEDED
 * before any call when even a minimal answer does not fit), call with max_tokens capped to what
 * was granted, then settle for what was actually used, whether the call finished, failed or was
 * cancelled. Without the provider's usage, received tokens are counted here: never billed as free.
 * A step of a turn that was never accepted (its message could not be stored) bills nothing.
 */
export async function meteredStep(
  llm: LlmClient,
  ledger: Ledger,
  request: StepRequest,
  onEvent: (event: LlmStreamEvent) => void,
  onSettled: (usage: StepUsage) => void,
): Promise<StepResult> {
  const promptTokens =
    countMessageTokens(request.messages) + (request.tools?.length ? countTokens(JSON.stringify(request.tools)) : 0);
  const grant = await ledger.reserve({
    userId: request.userId,
    runId: request.runId,
    model: request.model,
    promptTokens,
    maxOutputTokens: request.maxOutputTokens,
  });
  let text = '';
  let calls: LlmToolCall[] = [];
  let reported: { promptTokens: number; completionTokens: number } | undefined;
  let lastProgress = Date.now();
  try {
    for await (const event of llm.stream({
      model: request.model,
      messages: request.messages,
      signal: request.signal,
      maxTokens: grant.maxOutputTokens,
      ...(request.apiKey ? { apiKey: request.apiKey } : {}),
      ...(request.tools?.length ? { tools: request.tools } : {}),
    })) {
      if (event.type === 'text') {
        text += event.text;
        if (Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
          lastProgress = Date.now();
          // Not awaited: the stream must not wait on the store. A lost report only costs accuracy after a crash.
          ledger.progress(grant, countTokens(text)).catch(() => {});
        }
      } else if (event.type === 'tool_calls') calls = event.calls;
      else if (event.type === 'usage') reported = event;
      onEvent(event);
    }
  } finally {
    if (await request.accepted) {
      const used = reported ?? {
        promptTokens,
        completionTokens: countTokens(text) + calls.reduce((n, call) => n + countTokens(call.arguments), 0),
      };
      const { costMicros } = await ledger.settle(grant, used);
      onSettled({ ...used, costMicros });
    } else {
      await ledger.release(grant);
    }
  }
  return { text, calls };
}
