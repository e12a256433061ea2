import { type LlmMessage, type LlmToolCall, OfflineModel } from '@hearth/core';
import type { LlmReplyScript, LlmRequestRecord, LlmResponder } from '@hearth/testkit';

type WireMessage = {
  role?: string;
  content?: string | null;
  tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
};

function toLlmMessage(message: WireMessage): LlmMessage {
  const content = message.content ?? '';
  if (message.role === 'system') return { role: 'system', content };
  if (message.role === 'tool') return { role: 'tool', toolCallId: message.tool_call_id ?? '', content };
  if (message.role === 'assistant') {
    const toolCalls = message.tool_calls?.map((call) => ({
      id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
    }));
    return { role: 'assistant', content: message.content ?? null, ...(toolCalls ? { toolCalls } : {}) };
  }
  return { role: 'user', content };
}

/**
 * The built-in offline demo model behind the LLM test server, so an agent that calls an
 * OpenAI-compatible endpoint (the fake Letta's) answers exactly as the built-in runtime does offline.
 */
export const offlineResponder: LlmResponder = async (request: LlmRequestRecord): Promise<LlmReplyScript> => {
  const model = new OfflineModel(0);
  const tools = (request.tools as Array<{ function: { name: string } }> | undefined)?.map((tool) => ({
    name: tool.function.name,
    description: '',
    parameters: {},
  }));
  let text = '';
  let toolCalls: LlmToolCall[] = [];
  for await (const event of model.stream({
    model: request.model,
    messages: (request.messages as WireMessage[]).map(toLlmMessage),
    signal: new AbortController().signal,
    ...(tools ? { tools } : {}),
  })) {
    if (event.type === 'text') text += event.text;
    else if (event.type === 'tool_calls') toolCalls = event.calls;
  }
  return toolCalls.length > 0 ? { toolCalls } : { text };
};
