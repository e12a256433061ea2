import type { AttachmentInfo } from './attachment';

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export type MessageStatus = 'complete' | 'incomplete' | 'failed';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface Message {
  id: string;
  conversationId: string;
  /**
   * The message this one follows: for an answer, the user message it answers; for a user message, the
   * one it was sent after (null for a conversation's first). Messages sharing it are versions of one
   * point of the conversation: an edited message, a regenerated answer.
   */
  parentId: string | null;
  role: 'user' | 'assistant';
  content: string;
  status: MessageStatus;
  createdAt: Date;
  usage: Usage | null;
  /** The files sent with a user message (chat.send's `attachments`); set by chat.send and chat.history. */
  attachments?: AttachmentInfo[];
}

/** A message of a conversation's branch as `chat.history` lists it, with its versions. */
export interface HistoryMessage extends Message {
  /** Every version of this point of the conversation (this one included), oldest first. */
  siblingIds: string[];
}

export interface Conversation {
  id: string;
  title: string | null;
  /** The model it answers with; null: the server's default model. */
  model: string | null;
  createdAt: Date;
  lastActiveAt: Date;
  messageCount: number;
}

export interface MemoryBlock {
  label: string;
  value: string;
  limit: number;
  description: string;
  updatedAt: Date;
  updatedBy: 'user' | 'agent' | 'system';
}

/**
 * One value a memory block has had. `updatedBy` is who wrote it: the user, the agent (with the run
 * and the user message that caused it), or the system (defaults, resets, changes made in Letta
 * directly). `previousValue` is null for a block's first version.
 */
export interface MemoryVersion {
  id: string;
  label: string;
  value: string;
  previousValue: string | null;
  updatedBy: MemoryBlock['updatedBy'];
  runId: string | null;
  messageId: string | null;
  createdAt: Date;
}

/** A passage the agent filed in archival memory (archival_memory_insert), for it to search later. */
export interface ArchivalPassage {
  id: string;
  content: string;
  tags: string[];
  createdAt: Date;
}

/** What a run streams to its subscribers (spec/api.md, RunEvent). */
export type RunEvent =
  | { type: 'run.started'; runId: string; conversationId: string; model: string; userMessageId: string }
  | { type: 'reasoning.delta'; text: string }
  | { type: 'text.delta'; text: string }
  | { type: 'tool.call'; callId: string; name: string; arguments: unknown }
  | { type: 'tool.result'; callId: string; name: string; ok: boolean; result: unknown }
  | { type: 'memory.updated'; block: MemoryBlock; versionId: string }
  | { type: 'usage'; promptTokens: number; completionTokens: number; costUsd: number }
  /** The run's conversation changed (it was given a title): sent before the terminal event, if at all. */
  | { type: 'conversation.updated'; conversation: Conversation }
  | { type: 'run.completed'; message: Message; usage: Usage }
  | { type: 'run.failed'; appCode: string; message: string; retryable: boolean; partial: Message | null }
  | { type: 'run.cancelled'; partial: Message | null };

export type TerminalRunEvent = Extract<RunEvent, { type: 'run.completed' | 'run.failed' | 'run.cancelled' }>;

export function isTerminal(event: RunEvent): event is TerminalRunEvent {
  return event.type === 'run.completed' || event.type === 'run.failed' || event.type === 'run.cancelled';
}

/** A model the server offers (chat.models), with what it holds and costs. */
export interface ModelInfo {
  id: string;
  contextWindow: number;
  /** The most output tokens the model writes in one call; null when the price map does not say. */
  maxOutputTokens: number | null;
  inputUsdPerMillionTokens: number;
  outputUsdPerMillionTokens: number;
  /** Whether it reads images (the price map's `supports_vision`): only such a model takes image attachments. */
  supportsVision: boolean;
  /** The model used when neither the send nor the conversation names one. */
  default: boolean;
}
