import { meteredStep } from '../agent/metered-step';
import type { PriceTable } from '../billing/prices';
import type { RunEvent } from '../domain/chat';
import { APP_CODES, type AppCode, AppError } from '../domain/errors';
import type { AuthenticatedUser } from '../domain/user';
import type { ChatOperations } from '../ports/chat';
import {
  AGENT_MODEL,
  type CompletionEvent,
  type CompletionFinish,
  type CompletionModel,
  type CompletionOperations,
  type CompletionRequest,
  type CompletionStream,
} from '../ports/completions';
import type { Ledger } from '../ports/ledger';
import type { LlmClient, LlmStreamEvent } from '../ports/llm-client';
import { EventQueue } from './event-queue';

export interface CompletionServiceOptions {
  llm: LlmClient;
  ledger: Ledger;
  prices: PriceTable;
  chat: ChatOperations;
  /** The models callers may name directly; each must have a price (no unmetered call exists). */
  models: readonly string[];
  /** The server's cap on one answer's output tokens. */
  maxOutputTokens: number;
  /** Output tokens reserved at a time (see StepRequest.sliceTokens). */
  outputSliceTokens?: number | undefined;
  /** BILLING=litellm: the key a user's model traffic is sent with. */
  apiKeyFor?: ((userId: string) => Promise<string>) | undefined;
}

const OWNER = 'hearth';

function finishOf(reason: Extract<LlmStreamEvent, { type: 'finish' }>['reason'] | undefined): CompletionFinish {
  return reason === 'length' || reason === 'content_filter' || reason === 'tool_calls' ? reason : 'stop';
}

function asAppCode(code: string): AppCode {
  return (APP_CODES as readonly string[]).includes(code) ? (code as AppCode) : 'INTERNAL';
}

/** The last user message: what the agent is told (the agent keeps the history itself). */
function lastUserText(request: CompletionRequest): string {
  const last = request.messages.findLast((message) => message.role === 'user');
  if (!last || last.content.trim() === '') {
    throw new AppError('INVALID_INPUT', 'hearth/agent needs a user message with text.', {
      fieldErrors: { messages: ['The last user message is what the agent answers: send one with text.'] },
    });
  }
  return last.content;
}

export class CompletionService implements CompletionOperations {
  constructor(private readonly options: CompletionServiceOptions) {}

  models(): CompletionModel[] {
    return [...this.options.models, AGENT_MODEL].map((id) => ({ id, ownedBy: OWNER }));
  }

  complete(caller: AuthenticatedUser, request: CompletionRequest, signal: AbortSignal): Promise<CompletionStream> {
    if (request.model === AGENT_MODEL) return this.agentTurn(caller, request, signal);
    return this.gateway(caller, request, signal);
  }

  /**
   * One model call through the metered step: reserved before the provider is called (BUDGET_EXCEEDED
   * then, and nothing is sent), held to its grant while it streams, settled into a usage record.
   */
  private async gateway(
    caller: AuthenticatedUser,
    request: CompletionRequest,
    signal: AbortSignal,
  ): Promise<CompletionStream> {
    const { llm, ledger, prices, models } = this.options;
    const price = models.includes(request.model) ? prices.get(request.model) : undefined;
    if (!price) {
      throw new AppError('NOT_FOUND', `The model "${request.model}" does not exist here.`, {
        fieldErrors: {
          model: [
            `Available: ${this.models()
              .map((m) => m.id)
              .join(', ')}`,
          ],
        },
      });
    }
    const cap = Math.min(this.options.maxOutputTokens, price.maxOutputTokens);
    const maxOutputTokens = Math.max(1, Math.min(request.maxTokens ?? cap, cap));
    const apiKey = await this.options.apiKeyFor?.(caller.id);
    const queue = new EventQueue<CompletionEvent>();
    let finish: CompletionFinish = 'stop';
    let settled = { promptTokens: 0, completionTokens: 0, costUsd: 0 };
    meteredStep(
      llm,
      ledger,
      {
        userId: caller.id,
        runId: null,
        model: request.model,
        messages: request.messages,
        maxOutputTokens,
        sliceTokens: this.options.outputSliceTokens,
        signal,
        apiKey,
        accepted: Promise.resolve(true),
      },
      (event) => {
        if (event.type === 'text' || event.type === 'reasoning') queue.push({ type: event.type, text: event.text });
        else if (event.type === 'finish') finish = finishOf(event.reason);
      },
      ({ promptTokens, completionTokens, costMicros }) => {
        settled = { promptTokens, completionTokens, costUsd: costMicros / 1_000_000 };
      },
    ).then(
      ({ cut }) => {
        // Cut at what the budget could pay for: to the client, an answer that reached its length.
        queue.push({ type: 'done', finish: cut ? 'length' : finish, usage: settled });
        queue.end();
      },
      (error: unknown) => queue.fail(error),
    );
    return { model: request.model, events: queue };
  }

  /**
   * A turn of the caller's agent, as chat.send would start it (stored, remembered, billed as a run),
   * followed to its end. A client that goes away cancels the run: nobody else is waiting for it.
   */
  private async agentTurn(
    caller: AuthenticatedUser,
    request: CompletionRequest,
    signal: AbortSignal,
  ): Promise<CompletionStream> {
    const { chat } = this.options;
    const text = lastUserText(request);
    const sent = await chat.send(caller, { text, conversationId: request.conversationId });
    const follow = new AbortController();
    const onAbort = () => {
      follow.abort();
      chat.cancel(caller, sent.runId).catch(() => {});
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const events = await chat.events(caller, sent.runId, null, follow.signal).catch((error: unknown) => {
      signal.removeEventListener('abort', onAbort);
      throw error;
    });
    async function* answer(): AsyncGenerator<CompletionEvent> {
      try {
        for await (const { event } of events) {
          const mapped = fromRunEvent(event);
          if (mapped) yield mapped;
          if (mapped?.type === 'done') return;
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
        follow.abort();
      }
    }
    return { model: AGENT_MODEL, conversationId: sent.conversationId, runId: sent.runId, events: answer() };
  }
}

function fromRunEvent(event: RunEvent): CompletionEvent | null {
  switch (event.type) {
    case 'text.delta':
      return { type: 'text', text: event.text };
    case 'reasoning.delta':
      return { type: 'reasoning', text: event.text };
    case 'run.completed':
      return { type: 'done', finish: 'stop', usage: event.usage };
    case 'run.cancelled':
      return {
        type: 'done',
        finish: 'stop',
        usage: event.partial?.usage ?? { promptTokens: 0, completionTokens: 0, costUsd: 0 },
      };
    case 'run.failed':
      // The run's own appCode and client-safe message; `retryable` only matters to an upstream failure.
      throw new AppError(asAppCode(event.appCode), event.message, { retryable: event.retryable });
    default:
      return null;
  }
}
