import type { Conversation } from '../domain/chat';

/** What a send needs to know of its conversation besides its owner: which model, and whether to title it. */
export interface ConversationSettings {
  model: string | null;
  titled: boolean;
}

/** A user's conversations. Every read and write is scoped to that user: another's is NOT_FOUND. */
export interface ConversationRepository {
  /** NOT_FOUND when it is not the user's. */
  conversation(userId: string, conversationId: string): Promise<Conversation>;
  /** The conversation used when a client names none; created on first use. */
  defaultConversation(userId: string): Promise<Conversation>;
  /** The default conversation's id, which an adapter may remember (see forgetDefault). */
  defaultConversationId(userId: string): Promise<string>;
  /** A send found the remembered default gone: the next defaultConversationId asks again. */
  forgetDefault(userId: string): void;
  createConversation(userId: string, title: string | null, model?: string | null): Promise<Conversation>;
  renameConversation(userId: string, conversationId: string, title: string): Promise<Conversation>;
  setConversationModel(userId: string, conversationId: string, model: string | null): Promise<Conversation>;
  /** Null when the conversation is not the user's. */
  conversationSettings(userId: string, conversationId: string): Promise<ConversationSettings | null>;
  /**
   * Gives an untitled conversation the title its first answer earned. A title the user set is never
   * replaced: null when the conversation has one or is gone.
   */
  setGeneratedTitle(userId: string, conversationId: string, title: string): Promise<Conversation | null>;
  /** RUN_ACTIVE while a run answers in it; NOT_FOUND when it is not the user's. */
  deleteConversation(userId: string, conversationId: string): Promise<void>;
  /** Most recently active first. */
  listConversations(
    userId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ conversations: Conversation[]; nextCursor: string | null }>;
}
