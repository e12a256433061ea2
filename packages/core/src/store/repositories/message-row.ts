import type { Conversation, Message } from '../../domain/chat';
import type { conversations, messages } from '../schema';

export const MICROS_PER_USD = 1_000_000;

export function toMessage(row: typeof messages.$inferSelect): Message {
  const hasUsage = row.promptTokens !== null && row.completionTokens !== null;
  return {
    id: row.id,
    conversationId: row.conversationId,
    parentId: row.parentId,
    role: row.role,
    content: row.content,
    status: row.status,
    createdAt: row.createdAt,
    usage: hasUsage
      ? {
          promptTokens: row.promptTokens ?? 0,
          completionTokens: row.completionTokens ?? 0,
          costUsd: (row.costMicros ?? 0) / MICROS_PER_USD,
        }
      : null,
  };
}

export function toConversation(row: typeof conversations.$inferSelect): Conversation {
  return {
    id: row.id,
    title: row.title,
    model: row.model,
    createdAt: row.createdAt,
    lastActiveAt: row.lastActiveAt,
    messageCount: row.messageCount,
  };
}
