import type { ArchivalPassage, MemoryBlock, MemoryVersion } from '../domain/chat';
import type { MemoryAuthor, MemoryVersionRepository } from './memory-version-repository';

export interface AgentRecord {
  id: string;
  userId: string;
  model: string;
  createdAt: Date;
  lastActiveAt: Date;
}

export interface SearchHit {
  role: 'user' | 'assistant';
  content: string;
  createdAt: Date;
}

/** A block as written, and the version that records the change. */
export interface WrittenBlock {
  block: MemoryBlock;
  version: MemoryVersion;
}

/** The built-in runtime's agents, their core memory (with its versions) and their archival memory. */
export interface AgentRepository {
  readonly versions: MemoryVersionRepository;
  find(userId: string): Promise<AgentRecord | null>;
  /** The user's agent, created with the default blocks (their first versions) on first use. */
  ensure(userId: string, model: string): Promise<AgentRecord>;
  /** Drops what is remembered of the user's agent, whose rows are being deleted. */
  forget(userId: string): void;
  blocks(agentId: string): Promise<MemoryBlock[]>;
  /**
   * Replaces a block's value and records the change as a version, atomically: concurrent writers each
   * see the value they replace. MEMORY_LIMIT past the block's limit, NOT_FOUND for an unknown label.
   */
  writeBlock(agent: AgentRecord, label: string, value: string, author: MemoryAuthor): Promise<WrittenBlock>;
  /** The default blocks again, each change recorded as a `system` version. */
  resetBlocks(agent: AgentRecord): Promise<void>;
  /** The user's messages matching `query`, best first. */
  searchMessages(userId: string, query: string, roles: readonly string[], limit: number): Promise<SearchHit[]>;
  insertPassage(agentId: string, content: string, tags: string[]): Promise<string>;
  searchPassages(
    agentId: string,
    query: string,
    tags: string[],
    limit: number,
  ): Promise<Array<{ id: string; content: string; tags: string[] }>>;
  /** Newest first; `query` matches the text anywhere. */
  listPassages(
    agentId: string,
    input: { query?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ passages: ArchivalPassage[]; nextCursor: string | null }>;
  /** Whether the passage was this agent's and is now gone. */
  deletePassage(agentId: string, passageId: string): Promise<boolean>;
}
