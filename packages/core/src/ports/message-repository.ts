import type { HistoryMessage, Message } from '../domain/chat';

/** What a turn starts from: the summary of compacted messages, and the newest messages after it. */
export interface TurnContext {
  summary: string | null;
  history: Array<{ seq: number; role: 'user' | 'assistant'; content: string }>;
}

/**
 * The messages of conversations, as a tree: each message follows its parent, a regenerated answer or
 * an edited message is a sibling version, and a conversation shows one branch (its leaf).
 */
export interface MessageRepository {
  message(messageId: string): Promise<Message | null>;
  /** Null when the message is not the user's. */
  conversationOfMessage(userId: string, messageId: string): Promise<string | null>;
  /** A page of the shown branch, oldest first, going back from the leaf or from before the cursor. */
  history(
    userId: string,
    conversationId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ messages: HistoryMessage[]; nextCursor: string | null }>;
  /**
   * The conversation's summary and the newest `limit` non-empty messages after it on the branch that
   * `beforeMessageId` ends (never a sibling version), oldest first, that message itself left out.
   */
  turnContext(conversationId: string, beforeMessageId: string, limit: number): Promise<TurnContext>;
  /** Records that messages up to `throughSeq` are now represented by `summary`. */
  saveSummary(conversationId: string, summary: string, throughSeq: number): Promise<void>;
  /** Shows the branch through `messageId`, the newest version at each point below it. */
  switchBranch(
    userId: string,
    messageId: string,
  ): Promise<{ conversationId: string; leafId: string } | { conflict: 'not_found' | 'run_active' }>;
  countMessages(userId: string): Promise<number>;
  /** Every message and summary of the user's; their conversations stay, empty. */
  deleteAllMessages(userId: string): Promise<void>;
}
