import type { AttachmentUpload } from '../domain/attachment';
import type {
  Conversation,
  HistoryMessage,
  MemoryBlock,
  MemoryVersion,
  Message,
  ModelInfo,
  RunEvent,
  RunStatus,
} from '../domain/chat';
import type { AuthenticatedUser } from '../domain/user';
import type {
  ArchivalInput,
  ArchivalPage,
  MemoryHistoryInput,
  MemoryHistoryPage,
  TurnAttachment,
} from './agent-runtime';

export interface SendInput {
  text: string;
  conversationId?: string | undefined;
  clientMessageId?: string | undefined;
  model?: string | undefined;
  /** Files sent with the message, as the client sent them (the API's input). */
  attachments?: AttachmentUpload[] | undefined;
  /**
   * The same files checked and prepared (set by the attachment layer in front of the chat service):
   * `admit` is called with the model chosen, right before the message is stored, and refuses what
   * that model cannot take (images for a model without vision) or stores the files' bytes.
   */
  prepared?: PreparedAttachments | undefined;
}

export interface PreparedAttachments {
  items: readonly TurnAttachment[];
  admit(model: string): Promise<void>;
}

/** Answer the conversation's last user message again: `messageId` is its last answer, or that message. */
export interface RegenerateInput {
  messageId: string;
  model?: string | undefined;
}

/** A new version of the user message `messageId`, answered from there. */
export interface EditInput {
  messageId: string;
  text: string;
  model?: string | undefined;
}

/** Where a send came from, for the run's log lines. */
export interface SendOrigin {
  requestId?: string | undefined;
}

export interface SendResult {
  runId: string;
  conversationId: string;
  userMessage: Message;
}

export interface StreamedEvent {
  id: string;
  event: RunEvent;
}

export interface Page<T> {
  nextCursor: string | null;
  items: T[];
}

/** What the API needs from chat: plain data in, plain data out. */
export interface ChatOperations {
  send(caller: AuthenticatedUser, input: SendInput, origin?: SendOrigin): Promise<SendResult>;
  events(
    caller: AuthenticatedUser,
    runId: string,
    lastEventId: string | null | undefined,
    signal: AbortSignal,
  ): Promise<AsyncIterable<StreamedEvent>>;
  regenerate(caller: AuthenticatedUser, input: RegenerateInput, origin?: SendOrigin): Promise<SendResult>;
  editMessage(caller: AuthenticatedUser, input: EditInput, origin?: SendOrigin): Promise<SendResult>;
  switchBranch(caller: AuthenticatedUser, messageId: string): Promise<{ conversationId: string; leafId: string }>;
  cancel(caller: AuthenticatedUser, runId: string): Promise<{ runId: string; status: RunStatus }>;
  history(
    caller: AuthenticatedUser,
    input: { conversationId?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ messages: HistoryMessage[]; nextCursor: string | null }>;
  conversations(
    caller: AuthenticatedUser,
    input: { cursor?: string | undefined; limit: number },
  ): Promise<{ conversations: Conversation[]; nextCursor: string | null }>;
  /** The models a send or a conversation may name, the default marked. */
  models(caller: AuthenticatedUser): Promise<{ models: ModelInfo[] }>;
  createConversation(
    caller: AuthenticatedUser,
    input: { title?: string | undefined; model?: string | undefined },
  ): Promise<Conversation>;
  /** `model: null` goes back to the server's default. */
  setConversationModel(caller: AuthenticatedUser, conversationId: string, model: string | null): Promise<Conversation>;
  renameConversation(caller: AuthenticatedUser, conversationId: string, title: string): Promise<Conversation>;
  deleteConversation(caller: AuthenticatedUser, conversationId: string): Promise<void>;
}

export interface AgentStatus {
  agentId: string;
  backend: 'builtin' | 'letta';
  model: string;
  createdAt: Date;
  lastActiveAt: Date;
  messageCount: number;
  memory: { blocks: number; chars: number };
  activeRunIds: string[];
}

export interface AgentOperations {
  status(caller: AuthenticatedUser): Promise<AgentStatus>;
  /** The model of the user's agent, where an agent has one (Letta); elsewhere INVALID_INPUT. */
  setModel(caller: AuthenticatedUser, model: string): Promise<AgentStatus>;
  memory(caller: AuthenticatedUser): Promise<{ blocks: MemoryBlock[] }>;
  updateMemory(caller: AuthenticatedUser, label: string, value: string): Promise<MemoryBlock>;
  memoryHistory(caller: AuthenticatedUser, input: MemoryHistoryInput): Promise<MemoryHistoryPage>;
  /** Writes that version's value again, as a new version by the user. Not the caller's: NOT_FOUND. */
  revertMemory(caller: AuthenticatedUser, versionId: string): Promise<{ block: MemoryBlock; version: MemoryVersion }>;
  reset(caller: AuthenticatedUser, scope: 'messages' | 'memory' | 'all'): Promise<void>;
  archival(caller: AuthenticatedUser, input: ArchivalInput): Promise<ArchivalPage>;
  deleteArchival(caller: AuthenticatedUser, passageId: string): Promise<void>;
}
