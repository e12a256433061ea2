import { randomUUID } from 'node:crypto';
import { CompletionFailed, streamCompletion } from './chat-completion-stream';
import type { FakeLettaMcp } from './letta-fake-mcp';
import {
  type FakeLettaBlock,
  type FakeLettaPassage,
  MEMORY_TOOLS,
  renderSystemPrompt,
  runMemoryTool,
} from './letta-fake-memory';

/** What the fake keeps of one agent. */
export interface FakeLettaAgent {
  id: string;
  name: string;
  tags: string[];
  metadata: Record<string, unknown> | null;
  model: string;
  embedding: string | null;
  maxTokens: number | null;
  createdAt: string;
  blocks: Map<string, FakeLettaBlock>;
  /** Archival memory, oldest first. */
  passages: FakeLettaPassage[];
  /** The agent's in-context messages after the system prompt, as the model sees them. */
  context: Array<Record<string, unknown>>;
  /** Every message, as `GET /v1/agents/{id}/messages` lists them. */
  messages: Array<Record<string, unknown>>;
  /** Tools attached to it (`…/tools/attach/{tool_id}`): MCP servers' tools. */
  toolIds: string[];
}

export interface SendContext {
  agent: FakeLettaAgent;
  runId: string;
  userText: string;
  /** Images sent with the message (ImageContent with a base64 source), passed to the model as image parts. */
  userImages?: Array<{ mediaType: string; data: string }>;
  maxSteps: number;
  /** OpenAI-compatible base URL the agent's model calls go to. */
  llmUrl: string;
  /** The MCP servers an attached tool's call goes to. */
  mcp: FakeLettaMcp;
  signal: AbortSignal;
  /** Writes one stream event, checked against the named schema. */
  emit(schema: string, payload: Record<string, unknown>): void;
  /** Writes an `event: error` frame. */
  emitError(payload: Record<string, unknown>): void;
  /** Whether `…/messages/cancel` named this run (or all of the agent's runs). */
  cancelled(): boolean;
}

const now = () => new Date().toISOString();

/**
 * One send, as letta_v1_agent runs it: steps of model call → tool calls run against the agent's
 * own blocks → next step, until the model answers without a tool call or `max_steps` is reached;
 * every piece streamed as token-level messages grouped by otid, then stop_reason and usage_statistics.
 */
export async function runSend(send: SendContext): Promise<void> {
  const { agent, runId, emit } = send;
  const stamp = (otid: string, id: string, stepId: string) => ({
    id,
    otid,
    date: now(),
    run_id: runId,
    step_id: stepId,
  });
  const userMessage = {
    id: `message-${randomUUID()}`,
    date: now(),
    message_type: 'user_message',
    content: send.userText,
    run_id: runId,
  };
  agent.messages.push(userMessage);
  const images = send.userImages ?? [];
  agent.context.push({
    role: 'user',
    content:
      images.length === 0
        ? send.userText
        : [
            { type: 'text', text: send.userText },
            ...images.map((image) => ({
              type: 'image_url',
              image_url: { url: `data:${image.mediaType};base64,${image.data}` },
            })),
          ],
  });
  let promptTokens = 0;
  let completionTokens = 0;
  let steps = 0;
  let stopReason = 'max_steps';
  const attached = agent.toolIds.flatMap((id) => {
    const tool = send.mcp.tool(id);
    return tool ? [tool] : [];
  });
  const tools = [...MEMORY_TOOLS, ...attached.map((tool) => ({ type: 'function', function: tool.json_schema }))];

  for (let step = 1; step <= send.maxSteps; step += 1) {
    if (send.cancelled()) {
      stopReason = 'cancelled';
      break;
    }
    steps = step;
    const stepId = `step-${randomUUID()}`;
    const assistant = { id: `message-${randomUUID()}`, otid: randomUUID(), text: '' };
    const reasoning = { id: `message-${randomUUID()}`, otid: randomUUID(), text: '' };
    let calls: Array<{ id: string; name: string; arguments: string }> = [];
    try {
      for await (const piece of streamCompletion(
        send.llmUrl,
        {
          model: agent.model.slice(agent.model.indexOf('/') + 1),
          messages: [{ role: 'system', content: renderSystemPrompt([...agent.blocks.values()]) }, ...agent.context],
          tools,
          ...(agent.maxTokens ? { max_tokens: agent.maxTokens } : {}),
        },
        send.signal,
      )) {
        if (send.cancelled()) break;
        if (piece.type === 'reasoning') {
          reasoning.text += piece.text;
          emit('ReasoningMessage', {
            ...stamp(reasoning.otid, reasoning.id, stepId),
            message_type: 'reasoning_message',
            source: 'reasoner_model',
            reasoning: piece.text,
          });
        } else if (piece.type === 'text') {
          assistant.text += piece.text;
          emit('AssistantMessage', {
            ...stamp(assistant.otid, assistant.id, stepId),
            message_type: 'assistant_message',
            content: piece.text,
          });
        } else if (piece.type === 'tool_calls') calls = piece.calls;
        else {
          promptTokens += piece.promptTokens;
          completionTokens += piece.completionTokens;
        }
      }
    } catch (error) {
      if (send.signal.aborted) return;
      if (!(error instanceof CompletionFailed)) throw error;
      send.emitError({
        message_type: 'error_message',
        run_id: runId,
        error_type: 'llm_error',
        message: 'An error occurred with the LLM request.',
        detail: error.message,
      });
      emit('LettaStopReason', { message_type: 'stop_reason', stop_reason: 'llm_api_error' });
      return;
    }
    if (send.cancelled()) {
      stopReason = 'cancelled';
      break;
    }
    if (reasoning.text) {
      agent.messages.push({
        ...stamp(reasoning.otid, reasoning.id, stepId),
        message_type: 'reasoning_message',
        reasoning: reasoning.text,
      });
    }
    if (assistant.text) {
      agent.messages.push({
        ...stamp(assistant.otid, assistant.id, stepId),
        message_type: 'assistant_message',
        content: assistant.text,
      });
    }
    agent.context.push({
      role: 'assistant',
      content: assistant.text || null,
      ...(calls.length
        ? {
            tool_calls: calls.map((c) => ({
              id: c.id,
              type: 'function',
              function: { name: c.name, arguments: c.arguments },
            })),
          }
        : {}),
    });
    if (calls.length === 0) {
      stopReason = 'end_turn';
      break;
    }
    for (const call of calls) {
      const callMessage = { id: `message-${randomUUID()}`, otid: randomUUID() };
      // Token streaming sends the call in fragments: the name and id first, then the arguments.
      const half = Math.ceil(call.arguments.length / 2);
      emit('ToolCallMessage', {
        ...stamp(callMessage.otid, callMessage.id, stepId),
        message_type: 'tool_call_message',
        tool_call: { name: call.name, arguments: call.arguments.slice(0, half), tool_call_id: call.id },
      });
      emit('ToolCallMessage', {
        ...stamp(callMessage.otid, callMessage.id, stepId),
        message_type: 'tool_call_message',
        tool_call: { arguments: call.arguments.slice(half) },
      });
      const mcpTool = attached.find((tool) => tool.name === call.name);
      const outcome = mcpTool
        ? await send.mcp.call(mcpTool.id, call.arguments)
        : runMemoryTool(agent, call.name, call.arguments);
      const returned = {
        ...stamp(randomUUID(), `message-${randomUUID()}`, stepId),
        message_type: 'tool_return_message',
        tool_call_id: call.id,
        status: outcome.ok ? 'success' : 'error',
        tool_return: outcome.text,
      };
      emit('ToolReturnMessage', returned);
      agent.messages.push(
        {
          ...stamp(callMessage.otid, callMessage.id, stepId),
          message_type: 'tool_call_message',
          tool_call: { name: call.name, arguments: call.arguments, tool_call_id: call.id },
        },
        returned,
      );
      // Letta packages a tool's return for the model like this.
      agent.context.push({
        role: 'tool',
        tool_call_id: call.id,
        content: JSON.stringify({ status: outcome.ok ? 'OK' : 'Failed', message: outcome.text, time: now() }),
      });
    }
  }
  emit('LettaStopReason', { message_type: 'stop_reason', stop_reason: stopReason });
  emit('LettaUsageStatistics', {
    message_type: 'usage_statistics',
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    step_count: steps,
  });
}
