import type { MemoryBlock, Usage } from '../domain/chat';
import { countMessageTokens, countTokens } from '../llm/token-count';
import type { AgentInfo, AgentRuntime, AgentTurn } from '../ports/agent-runtime';
import type { LlmClient, LlmMessage, LlmToolCall } from '../ports/llm-client';
import type { AgentRecord, AgentStore } from './agent-store';
import { fitToContext } from './context-window';
import { MEMORY_TOOLS, runTool } from './memory-tools';
import { compileSystemPrompt } from './system-prompt';

export interface BuiltinRuntimeOptions {
  store: AgentStore;
  llm: LlmClient;
  /** Model steps allowed in one turn before the loop stops. */
  maxSteps: number;
  contextWindow: number;
  maxOutputTokens?: number;
}

function toInfo(agent: AgentRecord): AgentInfo {
  return { agentId: agent.id, model: agent.model, createdAt: agent.createdAt, lastActiveAt: agent.lastActiveAt };
}

/** A Letta-style agent run in-process: core memory in the system prompt, memory tools, a tool loop. */
export class BuiltinAgentRuntime implements AgentRuntime {
  readonly backend = 'builtin' as const;

  constructor(private readonly options: BuiltinRuntimeOptions) {}

  async findAgent(userId: string): Promise<AgentInfo | null> {
    const agent = await this.options.store.find(userId);
    return agent ? toInfo(agent) : null;
  }

  async ensureAgent(userId: string): Promise<AgentInfo> {
    return toInfo(await this.options.store.ensure(userId, this.options.llm.defaultModel));
  }

  async memory(userId: string): Promise<MemoryBlock[]> {
    const agent = await this.options.store.ensure(userId, this.options.llm.defaultModel);
    return this.options.store.blocks(agent.id);
  }

  async updateMemory(userId: string, label: string, value: string): Promise<MemoryBlock> {
    const agent = await this.options.store.ensure(userId, this.options.llm.defaultModel);
    return this.options.store.writeBlock(agent.id, label, value, 'user');
  }

  async resetMemory(userId: string): Promise<void> {
    const agent = await this.options.store.ensure(userId, this.options.llm.defaultModel);
    await this.options.store.resetBlocks(agent.id);
  }

  async runTurn(turn: AgentTurn): Promise<{ usage: Usage }> {
    const { store, llm, maxSteps, contextWindow, maxOutputTokens } = this.options;
    const agent = await store.ensure(turn.userId, llm.defaultModel);
    let blocks = await store.blocks(agent.id);
    const conversation: LlmMessage[] = [...turn.history, { role: 'user', content: turn.userMessage }];
    const total: Usage = { promptTokens: 0, completionTokens: 0, costUsd: 0 };

    for (let step = 1; step <= maxSteps; step += 1) {
      // Rebuilt every step, so a memory edit (the agent's or the user's) reaches the very next call.
      const system: LlmMessage = { role: 'system', content: compileSystemPrompt(blocks) };
      const messages = fitToContext(system, conversation, contextWindow);
      let text = '';
      let calls: LlmToolCall[] = [];
      let reported: { promptTokens: number; completionTokens: number } | undefined;
      for await (const event of llm.stream({
        model: turn.model,
        messages,
        tools: [...MEMORY_TOOLS],
        signal: turn.signal,
        ...(maxOutputTokens ? { maxTokens: maxOutputTokens } : {}),
      })) {
        if (event.type === 'text') {
          text += event.text;
          turn.emit({ type: 'text.delta', text: event.text });
        } else if (event.type === 'reasoning') {
          turn.emit({ type: 'reasoning.delta', text: event.text });
        } else if (event.type === 'tool_calls') {
          calls = event.calls;
        } else if (event.type === 'usage') {
          reported = event;
        }
      }
      // Providers that send no usage are billed by our own count, never as free.
      const usage = reported ?? {
        promptTokens: countMessageTokens(messages),
        completionTokens: countTokens(text) + calls.reduce((n, c) => n + countTokens(c.arguments), 0),
      };
      turn.emit({ type: 'usage', ...usage, costUsd: 0 });
      total.promptTokens += usage.promptTokens;
      total.completionTokens += usage.completionTokens;
      if (calls.length === 0) break;

      conversation.push({ role: 'assistant', content: text || null, toolCalls: calls });
      for (const call of calls) {
        turn.emit({ type: 'tool.call', callId: call.id, name: call.name, arguments: parseArguments(call.arguments) });
        const outcome = await runTool(call.name, call.arguments, { agentId: agent.id, userId: turn.userId, store });
        turn.emit({ type: 'tool.result', callId: call.id, name: call.name, ok: outcome.ok, result: outcome.result });
        const updated = outcome.updatedBlock;
        if (updated) {
          blocks = blocks.map((block) => (block.label === updated.label ? updated : block));
          turn.emit({ type: 'memory.updated', block: updated });
        }
        conversation.push({
          role: 'tool',
          toolCallId: call.id,
          content: JSON.stringify({ ok: outcome.ok, result: outcome.result }),
        });
      }
    }
    return { usage: total };
  }
}

function parseArguments(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
