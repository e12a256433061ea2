import { withAttachments } from '../attachments/turn-content';
import type { MemoryBlock, MemoryVersion, Usage } from '../domain/chat';
import { AppError } from '../domain/errors';
import { countTokens } from '../llm/token-count';
import type { AgentRecord, AgentRepository, WrittenBlock } from '../ports/agent-repository';
import type {
  AgentInfo,
  AgentRuntime,
  AgentTurn,
  ArchivalInput,
  ArchivalPage,
  MemoryHistoryInput,
  MemoryHistoryPage,
} from '../ports/agent-runtime';
import type { AgentToolbox } from '../ports/agent-tools';
import type { Ledger } from '../ports/ledger';
import type { LlmClient, LlmMessage, LlmTool } from '../ports/llm-client';
import { messagesToEvict, trimToWindow } from './context-window';
import { MEMORY_TOOLS, runTool, type ToolOutcome } from './memory-tools';
import { meteredStep, type StepUsage } from './metered-step';
import { summaryRequest } from './summarizer';
import { compileSystemPrompt } from './system-prompt';

export interface BuiltinRuntimeOptions {
  store: AgentRepository;
  llm: LlmClient;
  ledger: Ledger;
  /** Model steps allowed in one turn before the loop stops. */
  maxSteps: number;
  contextWindow: number;
  maxOutputTokens: number;
  /** Each offered model's window and output cap, when they differ from the default's above. */
  limitsFor?: (model: string) => { contextWindow: number; maxOutputTokens: number } | undefined;
  /**
   * Output tokens a step reserves at a time, extending its reservation while the answer streams:
   * concurrent steps then hold only what they may soon use. Unset: the whole cap at once.
   */
  outputSliceTokens?: number;
  /** The key a user's model traffic is sent with, when a billing proxy gives each user one. */
  apiKeyFor?: (userId: string) => Promise<string>;
  /** Tools offered beside the memory tools (the operator's MCP servers'). */
  tools?: AgentToolbox;
}

const SUMMARY_MAX_TOKENS = 400;

function toInfo(agent: AgentRecord): AgentInfo {
  return { agentId: agent.id, model: agent.model, createdAt: agent.createdAt, lastActiveAt: agent.lastActiveAt };
}

/** A Letta-style agent run in-process: core memory in the system prompt, memory tools, a tool loop. */
export class BuiltinAgentRuntime implements AgentRuntime {
  readonly backend = 'builtin' as const;
  readonly modelPerAgent = false;

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

  async updateMemory(userId: string, label: string, value: string): Promise<WrittenBlock> {
    const agent = await this.options.store.ensure(userId, this.options.llm.defaultModel);
    return this.options.store.writeBlock(agent, label, value, { by: 'user' });
  }

  async memoryHistory(userId: string, input: MemoryHistoryInput): Promise<MemoryHistoryPage> {
    // A new agent's default blocks are its first versions.
    await this.options.store.ensure(userId, this.options.llm.defaultModel);
    return this.options.store.versions.page(userId, input);
  }

  memoryVersion(userId: string, versionId: string): Promise<MemoryVersion | null> {
    return this.options.store.versions.find(userId, versionId);
  }

  async resetMemory(userId: string): Promise<void> {
    const agent = await this.options.store.ensure(userId, this.options.llm.defaultModel);
    await this.options.store.resetBlocks(agent);
  }

  async archival(userId: string, input: ArchivalInput): Promise<ArchivalPage> {
    const agent = await this.options.store.ensure(userId, this.options.llm.defaultModel);
    return this.options.store.listPassages(agent.id, input);
  }

  async deleteArchival(userId: string, passageId: string): Promise<void> {
    const agent = await this.options.store.ensure(userId, this.options.llm.defaultModel);
    if (!(await this.options.store.deletePassage(agent.id, passageId))) {
      throw new AppError('NOT_FOUND', 'That archival memory passage does not exist.');
    }
  }

  async setModel(): Promise<AgentInfo> {
    throw new AppError(
      'INVALID_INPUT',
      'Here the model is chosen per conversation (chat.setConversationModel) or per message (chat.send).',
      { fieldErrors: { model: ['This agent backend has no agent-wide model.'] } },
    );
  }

  /** The window and output cap of a turn's model. */
  private limits(model: string): { contextWindow: number; maxOutputTokens: number } {
    const { contextWindow, maxOutputTokens, limitsFor } = this.options;
    return limitsFor?.(model) ?? { contextWindow, maxOutputTokens };
  }

  async deleteAgent(userId: string): Promise<void> {
    this.options.store.forget(userId);
  }

  async resetMessages(): Promise<void> {
    // The built-in agent's context is the conversation history in Hearth's store: nothing else to clear.
  }

  async runTurn(turn: AgentTurn): Promise<{ usage: Usage }> {
    const { store, llm, ledger, maxSteps } = this.options;
    const { contextWindow, maxOutputTokens } = this.limits(turn.model);
    const agent = await store.ensure(turn.userId, llm.defaultModel);
    let blocks = await store.blocks(agent.id);
    const apiKey = await this.options.apiKeyFor?.(turn.userId);
    const total: Usage = { promptTokens: 0, completionTokens: 0, costUsd: 0 };
    const report = ({ promptTokens, completionTokens, costMicros }: StepUsage) => {
      const costUsd = costMicros / 1_000_000;
      turn.emit({ type: 'usage', promptTokens, completionTokens, costUsd });
      total.promptTokens += promptTokens;
      total.completionTokens += completionTokens;
      total.costUsd = (Math.round(total.costUsd * 1_000_000) + costMicros) / 1_000_000;
    };
    const { summary, history } = await this.compact(turn, compileSystemPrompt(blocks, turn.summary), report, apiKey);
    const user = withAttachments(turn.userMessage, turn.attachments);
    const conversation: LlmMessage[] = [
      ...history,
      { role: 'user', content: user.content, ...(user.images.length > 0 ? { images: user.images } : {}) },
    ];

    for (let step = 1; step <= maxSteps; step += 1) {
      // Rebuilt every step, so a memory edit (the agent's or the user's) reaches the very next call.
      const system: LlmMessage = { role: 'system', content: compileSystemPrompt(blocks, summary) };
      // Asked each step: a tool server may have gone down or come back since the last one.
      const extraTools: LlmTool[] = this.options.tools?.tools() ?? [];
      // The extra tools' schemas are sent with the prompt, so they take their room in the window.
      const extraTokens = extraTools.length > 0 ? countTokens(JSON.stringify(extraTools)) : 0;
      const messages = trimToWindow([system, ...conversation], Math.max(contextWindow - extraTokens, 1));
      const { text, calls } = await meteredStep(
        llm,
        ledger,
        {
          userId: turn.userId,
          runId: turn.runId,
          model: turn.model,
          messages,
          tools: [...MEMORY_TOOLS, ...extraTools],
          maxOutputTokens,
          sliceTokens: this.options.outputSliceTokens,
          signal: turn.signal,
          apiKey,
          accepted: turn.accepted,
        },
        (event) => {
          if (event.type === 'text') turn.emit({ type: 'text.delta', text: event.text });
          else if (event.type === 'reasoning') turn.emit({ type: 'reasoning.delta', text: event.text });
        },
        report,
      );
      if (calls.length === 0) break;

      conversation.push({ role: 'assistant', content: text || null, toolCalls: calls });
      for (const call of calls) {
        turn.emit({ type: 'tool.call', callId: call.id, name: call.name, arguments: parseArguments(call.arguments) });
        const toolbox = this.options.tools;
        const outcome: ToolOutcome = toolbox?.owns(call.name)
          ? await toolbox.call({ name: call.name, arguments: call.arguments, signal: turn.signal })
          : await runTool(call.name, call.arguments, {
              agent,
              store,
              author: { by: 'agent', runId: turn.runId, messageId: turn.userMessageId },
            });
        turn.emit({ type: 'tool.result', callId: call.id, name: call.name, ok: outcome.ok, result: outcome.result });
        const updated = outcome.written;
        if (updated) {
          blocks = blocks.map((block) => (block.label === updated.block.label ? updated.block : block));
          turn.emit({ type: 'memory.updated', block: updated.block, versionId: updated.version.id });
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

  /**
   * When the prompt would pass 90% of the window, folds the oldest messages into the conversation's
   * summary (written by the model) and leaves them out of the prompt; they stay stored and searchable.
   * A summary that cannot be written does not stop the turn: the messages are left out all the same.
   */
  private async compact(
    turn: AgentTurn,
    system: string,
    report: (usage: StepUsage) => void,
    apiKey: string | undefined,
  ): Promise<{ summary: string | null; history: LlmMessage[] }> {
    const history: LlmMessage[] = turn.history.map(({ role, content }) => ({ role, content }));
    const current: LlmMessage[] = [
      { role: 'user', content: withAttachments(turn.userMessage, turn.attachments).content },
    ];
    const { contextWindow } = this.limits(turn.model);
    const evict = messagesToEvict({ role: 'system', content: system }, history, current, contextWindow);
    if (evict === 0) return { summary: turn.summary, history };
    const evicted = turn.history.slice(0, evict);
    const throughSeq = evicted.at(-1)?.seq ?? 0;
    try {
      const { text } = await meteredStep(
        this.options.llm,
        this.options.ledger,
        {
          userId: turn.userId,
          runId: turn.runId,
          model: turn.model,
          messages: summaryRequest(turn.summary, evicted),
          maxOutputTokens: SUMMARY_MAX_TOKENS,
          sliceTokens: this.options.outputSliceTokens,
          signal: turn.signal,
          apiKey,
          accepted: turn.accepted,
        },
        () => {},
        report,
      );
      const summary = text.trim();
      if (summary) {
        await turn.saveSummary(summary, throughSeq);
        return { summary, history: history.slice(evict) };
      }
    } catch (error) {
      if (turn.signal.aborted) throw error;
    }
    return { summary: turn.summary, history: history.slice(evict) };
  }
}

function parseArguments(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
