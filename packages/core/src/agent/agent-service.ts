import type { ModelCatalog } from '../chat/model-catalog';
import type { MemoryBlock, MemoryVersion } from '../domain/chat';
import { AppError } from '../domain/errors';
import type { AuthenticatedUser } from '../domain/user';
import type {
  AgentRuntime,
  ArchivalInput,
  ArchivalPage,
  MemoryHistoryInput,
  MemoryHistoryPage,
} from '../ports/agent-runtime';
import type { AgentOperations, AgentStatus } from '../ports/chat';
import type { MessageRepository } from '../ports/message-repository';
import type { RunEventHub } from '../ports/run-event-hub';
import type { RunRepository } from '../ports/run-repository';

/** The user's view of their agent: status, memory they can read and edit, and resets. */
export class AgentService implements AgentOperations {
  constructor(
    private readonly runtime: AgentRuntime,
    private readonly messages: MessageRepository,
    private readonly runs: RunRepository,
    private readonly hub: RunEventHub,
    /** The models an agent may be switched to (agent.setModel, Letta). */
    private readonly models?: ModelCatalog,
  ) {}

  /** Letta: switches the user's agent, for every conversation, to another offered model. */
  async setModel(caller: AuthenticatedUser, model: string): Promise<AgentStatus> {
    if (this.runtime.modelPerAgent) this.models?.check(model);
    await this.runtime.setModel(caller.id, model);
    return this.status(caller);
  }

  async status(caller: AuthenticatedUser): Promise<AgentStatus> {
    await this.runtime.ensureAgent(caller.id);
    // Read afresh: runs move lastActiveAt, and ensureAgent may answer from a cache.
    const agent = (await this.runtime.findAgent(caller.id)) ?? (await this.runtime.ensureAgent(caller.id));
    const [blocks, messageCount, activeRunIds] = await Promise.all([
      this.runtime.memory(caller.id),
      this.messages.countMessages(caller.id),
      this.runs.activeRunIds(caller.id),
    ]);
    return {
      agentId: agent.agentId,
      backend: this.runtime.backend,
      // Letta: the agent's own model. Built-in: the model a conversation without one answers with.
      model: this.runtime.modelPerAgent ? agent.model : (this.models?.defaultModel ?? agent.model),
      createdAt: agent.createdAt,
      lastActiveAt: agent.lastActiveAt,
      messageCount,
      memory: { blocks: blocks.length, chars: blocks.reduce((n, block) => n + block.value.length, 0) },
      activeRunIds,
    };
  }

  async memory(caller: AuthenticatedUser): Promise<{ blocks: MemoryBlock[] }> {
    return { blocks: await this.runtime.memory(caller.id) };
  }

  async updateMemory(caller: AuthenticatedUser, label: string, value: string): Promise<MemoryBlock> {
    return (await this.runtime.updateMemory(caller.id, label, value)).block;
  }

  memoryHistory(caller: AuthenticatedUser, input: MemoryHistoryInput): Promise<MemoryHistoryPage> {
    return this.runtime.memoryHistory(caller.id, input);
  }

  async revertMemory(
    caller: AuthenticatedUser,
    versionId: string,
  ): Promise<{ block: MemoryBlock; version: MemoryVersion }> {
    const target = await this.runtime.memoryVersion(caller.id, versionId);
    if (!target) throw new AppError('NOT_FOUND', 'That memory version does not exist.');
    return this.runtime.updateMemory(caller.id, target.label, target.value);
  }

  archival(caller: AuthenticatedUser, input: ArchivalInput): Promise<ArchivalPage> {
    return this.runtime.archival(caller.id, input);
  }

  deleteArchival(caller: AuthenticatedUser, passageId: string): Promise<void> {
    return this.runtime.deleteArchival(caller.id, passageId);
  }

  async reset(caller: AuthenticatedUser, scope: 'messages' | 'memory' | 'all'): Promise<void> {
    if (scope !== 'memory') {
      // A run still writing would put messages back right after they were cleared.
      await Promise.all((await this.runs.activeRunIds(caller.id)).map((runId) => this.hub.cancel(runId)));
      await this.messages.deleteAllMessages(caller.id);
      await this.runtime.resetMessages(caller.id);
    }
    if (scope !== 'messages') await this.runtime.resetMemory(caller.id);
  }
}
