import type { ArchivalPassage, MemoryBlock, MemoryVersion, RunEvent, Usage } from '../domain/chat';

export interface AgentInfo {
  agentId: string;
  model: string;
  createdAt: Date;
  lastActiveAt: Date;
}

/** Events a turn streams while it runs; the chat service adds the run's start and end. */
export type TurnEvent = Extract<
  RunEvent,
  { type: 'reasoning.delta' | 'text.delta' | 'tool.call' | 'tool.result' | 'memory.updated' | 'usage' }
>;

export interface AgentTurn {
  userId: string;
  conversationId: string;
  runId: string;
  /** The user message the turn answers: what an edit of memory by the agent is recorded as caused by. */
  userMessageId: string;
  model: string;
  /** Earlier messages of the conversation after its summary, oldest first, without the new one. */
  history: ReadonlyArray<{ seq: number; role: 'user' | 'assistant'; content: string }>;
  /** What the agent wrote about the messages before `history`, if it ever compacted this conversation. */
  summary: string | null;
  /** Persists a new summary standing for every message up to `throughSeq`. */
  saveSummary(summary: string, throughSeq: number): Promise<void>;
  userMessage: string;
  /**
   * The files sent with the user message, checked and prepared: images (only for a model that reads
   * them) and the text of text-like files, already cut to the per-message token limit. Empty: none.
   */
  attachments?: readonly TurnAttachment[];
  /**
   * True once the user's message is stored; false when it never will be (the send failed). The
   * turn starts before the store has answered, so a step settles only after this: a turn that was
   * never accepted gives its reservations back unbilled (Ledger.release).
   */
  accepted: Promise<boolean>;
  signal: AbortSignal;
  emit(event: TurnEvent): void;
}

/** A file of the turn's user message, as the agent backend passes it to the model. */
export type TurnAttachment =
  | { kind: 'image'; name: string; mediaType: string /** base64 */; data: string }
  | { kind: 'text'; name: string; mediaType: string; text: string; truncated: boolean };

export interface MemoryHistoryInput {
  label?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface MemoryHistoryPage {
  versions: MemoryVersion[];
  nextCursor: string | null;
}

export interface ArchivalInput {
  /** Only passages whose text contains this (any case). */
  query?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

export interface ArchivalPage {
  passages: ArchivalPassage[];
  nextCursor: string | null;
}

/**
 * A stateful agent per user: the built-in runtime in Hearth's store, or Letta. A turn's text
 * reaches the caller only through `emit`; failures throw AppError, cancellation an AbortError.
 */
export interface AgentRuntime {
  readonly backend: 'builtin' | 'letta';
  /**
   * Letta: an agent has one model, for every conversation (`setModel`), and a turn runs with it.
   * Built-in: any offered model, chosen per conversation or per send.
   */
  readonly modelPerAgent: boolean;
  /** Sets the model of the user's agent (modelPerAgent); elsewhere INVALID_INPUT. */
  setModel(userId: string, model: string): Promise<AgentInfo>;
  findAgent(userId: string): Promise<AgentInfo | null>;
  ensureAgent(userId: string): Promise<AgentInfo>;
  memory(userId: string): Promise<MemoryBlock[]>;
  /** A change by the user, recorded as a new version. */
  updateMemory(userId: string, label: string, value: string): Promise<{ block: MemoryBlock; version: MemoryVersion }>;
  /** Every version of the user's blocks (or of one), newest first. */
  memoryHistory(userId: string, input: MemoryHistoryInput): Promise<MemoryHistoryPage>;
  memoryVersion(userId: string, versionId: string): Promise<MemoryVersion | null>;
  resetMemory(userId: string): Promise<void>;
  /** The agent's archival memory, newest first. */
  archival(userId: string, input: ArchivalInput): Promise<ArchivalPage>;
  /** Removes one passage; not in this user's agent's archive: NOT_FOUND. */
  deleteArchival(userId: string, passageId: string): Promise<void>;
  /**
   * For a deleted account: removes what the backend keeps of the user's agent outside Hearth's store
   * (the Letta agent) and forgets it; what is in the store goes with the user's row.
   */
  deleteAgent(userId: string): Promise<void>;
  /** Clears what the backend keeps of past messages itself; Hearth's own message store is cleared apart. */
  resetMessages(userId: string): Promise<void>;
  runTurn(turn: AgentTurn): Promise<{ usage: Usage }>;
}
