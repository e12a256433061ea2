import {
  type CompletionMeta,
  chunk,
  completion,
  type FinishReason,
  newToolCallId,
  SSE_DONE,
  sseEvent,
  usage,
  usageChunk,
  type WireToolCall,
  type WireUsage,
} from './openai-wire';
import { tokenize } from './tokenize';
import type { LlmReplyScript } from './types';
import { estimateArgumentTokens, estimatePromptTokens } from './usage-estimate';

/** A reply script with every default filled in, shared by the streaming and non-streaming paths. */
export interface ResolvedReply {
  text: string | undefined;
  reasoning: string | undefined;
  reasoningTokens: string[];
  contentTokens: string[];
  toolCalls: WireToolCall[];
  finishReason: FinishReason;
  usage: WireUsage | null;
}

/**
 * Fills the script's defaults. A request's `maxTokens` cuts the reasoning and content there, as a
 * provider does (finish reason `length`, no tool calls), unless the script ignores it.
 */
export function resolveReply(script: LlmReplyScript, messages: readonly unknown[], maxTokens?: number): ResolvedReply {
  const cap = script.ignoreMaxTokens ? undefined : maxTokens;
  let reasoningTokens = tokenize(script.reasoning ?? '');
  let contentTokens = tokenize(script.text ?? '');
  const capped = cap !== undefined && reasoningTokens.length + contentTokens.length > cap;
  if (capped) {
    reasoningTokens = reasoningTokens.slice(0, cap);
    contentTokens = contentTokens.slice(0, cap - reasoningTokens.length);
  }
  const toolCalls = (capped ? [] : (script.toolCalls ?? [])).map(
    (call): WireToolCall => ({
      id: call.id ?? newToolCallId(),
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }),
  );
  const computed = () =>
    usage(
      estimatePromptTokens(messages),
      reasoningTokens.length +
        contentTokens.length +
        estimateArgumentTokens(toolCalls.map((call) => call.function.arguments)),
    );
  return {
    text: capped ? contentTokens.join('') : script.text,
    reasoning: capped ? reasoningTokens.join('') : script.reasoning,
    reasoningTokens,
    contentTokens,
    toolCalls,
    finishReason: capped ? 'length' : (script.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop')),
    usage:
      script.usage === null
        ? null
        : script.usage
          ? usage(script.usage.promptTokens, script.usage.completionTokens)
          : computed(),
  };
}

/** One SSE event; `token` marks the chunks that the token interval paces. */
export interface Frame {
  text: string;
  token: boolean;
}

/** How a stream ends after its last frame: cleanly, with a dropped socket, or never. */
export type StreamEnding = 'finish' | 'disconnect' | 'stall';

export interface StreamPlan {
  frames: Frame[];
  ending: StreamEnding;
}

interface Cut {
  afterTokens: number;
  ending: Exclude<StreamEnding, 'finish'>;
}

/** The earlier of the scripted drop and stall; a drop wins a tie since it is the harsher failure. */
export function scriptedCut(script: LlmReplyScript): Cut | undefined {
  const cuts: Cut[] = [];
  if (script.disconnectAfterTokens !== undefined) {
    cuts.push({ afterTokens: script.disconnectAfterTokens, ending: 'disconnect' });
  }
  if (script.stallAfterTokens !== undefined) cuts.push({ afterTokens: script.stallAfterTokens, ending: 'stall' });
  return cuts.sort((a, b) => a.afterTokens - b.afterTokens)[0];
}

const MAX_ARGUMENT_FRAGMENTS = 4;

/** Splits on code points so a fragment never ends inside a surrogate pair. */
function argumentFragments(args: string): string[] {
  const chars = Array.from(args);
  const size = Math.max(1, Math.ceil(chars.length / MAX_ARGUMENT_FRAGMENTS));
  const fragments: string[] = [];
  for (let i = 0; i < chars.length; i += size) fragments.push(chars.slice(i, i + size).join(''));
  return fragments;
}

/**
 * The full SSE conversation for one streamed reply. A scripted drop or stall cuts it short after
 * that many content tokens; past the end of the content it cuts before the tool calls and finish
 * chunk, so a scripted failure always happens.
 */
export function planStream(
  reply: ResolvedReply,
  meta: CompletionMeta,
  includeUsage: boolean,
  cut: Cut | undefined,
): StreamPlan {
  const withUsage = includeUsage && reply.usage !== null;
  const frames: Frame[] = [];
  const push = (delta: Record<string, unknown>, token: boolean, finishReason: FinishReason | null = null) =>
    frames.push({ text: sseEvent(chunk(meta, delta, finishReason, withUsage)), token });

  push({ role: 'assistant', content: '', refusal: null }, false);
  for (const token of reply.reasoningTokens) push({ reasoning_content: token }, true);
  for (const [written, token] of reply.contentTokens.entries()) {
    if (cut && written >= cut.afterTokens) return { frames, ending: cut.ending };
    push({ content: token }, true);
  }
  if (cut) return { frames, ending: cut.ending };

  for (const [index, call] of reply.toolCalls.entries()) {
    push(
      { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] },
      true,
    );
    for (const fragment of argumentFragments(call.function.arguments)) {
      push({ tool_calls: [{ index, function: { arguments: fragment } }] }, true);
    }
  }
  push({}, false, reply.finishReason);
  if (withUsage && reply.usage) frames.push({ text: sseEvent(usageChunk(meta, reply.usage)), token: false });
  frames.push({ text: SSE_DONE, token: false });
  return { frames, ending: 'finish' };
}

/** The non-streaming `chat.completion` body for a reply. */
export function buildCompletion(reply: ResolvedReply, meta: CompletionMeta) {
  // OpenAI sends null content, not '', when the model only called tools.
  const content = reply.text ?? (reply.toolCalls.length > 0 ? null : '');
  return completion(
    meta,
    { content, reasoning: reply.reasoning, toolCalls: reply.toolCalls },
    reply.finishReason,
    reply.usage,
  );
}
