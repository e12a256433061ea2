import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Conversation, Message, MessageStatus, RunStatus, Usage } from '../domain/chat';
import { AppError } from '../domain/errors';
import type { Clock } from '../ports/clock';
import type { Database } from '../store/database';
import { isUniqueViolation } from '../store/errors';
import { conversations, messages, runs } from '../store/schema';
import { decodeCursor, encodeCursor } from './cursor';
import { MICROS_PER_USD, toConversation, toMessage } from './message-row';

export interface RunRecord {
  id: string;
  userId: string;
  conversationId: string;
  userMessageId: string;
  assistantMessageId: string | null;
  status: RunStatus;
  model: string;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface StartedRun {
  runId: string;
  conversationId: string;
  userMessage: Message;
}

const ACTIVE: RunStatus[] = ['queued', 'running'];
const notFound = (what: string) => new AppError('NOT_FOUND', `That ${what} does not exist.`);

/** Conversations, messages and runs. Every read is scoped to the calling user. */
export class ChatStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async conversation(userId: string, conversationId: string): Promise<Conversation> {
    const [row] = await this.db
      .select()
      .from(conversations)
      .where(and(eq(conversations.id, conversationId), eq(conversations.userId, userId)));
    if (!row) throw notFound('conversation');
    return toConversation(row);
  }

  /** The conversation used when a client names none; created on first use. */
  async defaultConversation(userId: string): Promise<Conversation> {
    const [existing] = await this.db
      .select()
      .from(conversations)
      .where(and(eq(conversations.userId, userId), eq(conversations.isDefault, true)));
    if (existing) return toConversation(existing);
    await this.db.insert(conversations).values({ id: randomUUID(), userId, isDefault: true }).onConflictDoNothing();
    return this.defaultConversation(userId);
  }

  async createConversation(userId: string, title: string | null): Promise<Conversation> {
    const [row] = await this.db.insert(conversations).values({ id: randomUUID(), userId, title }).returning();
    if (!row) throw new Error('insert returned no row');
    return toConversation(row);
  }

  async renameConversation(userId: string, conversationId: string, title: string): Promise<Conversation> {
    const [row] = await this.db
      .update(conversations)
      .set({ title })
      .where(and(eq(conversations.id, conversationId), eq(conversations.userId, userId)))
      .returning();
    if (!row) throw notFound('conversation');
    return toConversation(row);
  }

  async deleteConversation(userId: string, conversationId: string): Promise<void> {
    const [active] = await this.db
      .select({ id: runs.id })
      .from(runs)
      .where(and(eq(runs.conversationId, conversationId), inArray(runs.status, ACTIVE)));
    if (active) throw new AppError('RUN_ACTIVE', 'A run is still answering in this conversation; cancel it first.');
    const deleted = await this.db
      .delete(conversations)
      .where(and(eq(conversations.id, conversationId), eq(conversations.userId, userId)))
      .returning({ id: conversations.id });
    if (deleted.length === 0) throw notFound('conversation');
  }

  async listConversations(userId: string, cursor: string | undefined, limit: number) {
    const after = cursor ? decodeCursor<{ at: string; id: string }>(cursor, ['at', 'id']) : undefined;
    const rows = await this.db
      .select()
      .from(conversations)
      .where(
        and(
          eq(conversations.userId, userId),
          after
            ? or(
                lt(conversations.lastActiveAt, new Date(after.at)),
                and(eq(conversations.lastActiveAt, new Date(after.at)), lt(conversations.id, after.id)),
              )
            : undefined,
        ),
      )
      .orderBy(desc(conversations.lastActiveAt), desc(conversations.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      conversations: page.map(toConversation),
      nextCursor:
        rows.length > limit && last ? encodeCursor({ at: last.lastActiveAt.toISOString(), id: last.id }) : null,
    };
  }

  async runByClientMessageId(userId: string, clientMessageId: string): Promise<StartedRun | null> {
    const [row] = await this.db
      .select({ run: runs, message: messages })
      .from(runs)
      .innerJoin(messages, eq(messages.id, runs.userMessageId))
      .where(and(eq(runs.userId, userId), eq(runs.clientMessageId, clientMessageId)));
    return row
      ? { runId: row.run.id, conversationId: row.run.conversationId, userMessage: toMessage(row.message) }
      : null;
  }

  /**
   * Stores the user's message and its run together. The database's one-active-run index decides
   * RUN_ACTIVE, so two sends racing into one conversation cannot both start.
   */
  async startRun(input: {
    userId: string;
    conversationId: string;
    text: string;
    model: string;
    clientMessageId?: string | undefined;
  }): Promise<StartedRun | { conflict: 'run_active' | 'duplicate' }> {
    const runId = randomUUID();
    const now = this.clock.now();
    try {
      return await this.db.transaction(async (tx) => {
        const [message] = await tx
          .insert(messages)
          .values({
            id: randomUUID(),
            userId: input.userId,
            conversationId: input.conversationId,
            runId,
            role: 'user',
            content: input.text,
            status: 'complete',
            createdAt: now,
          })
          .returning();
        if (!message) throw new Error('insert returned no row');
        await tx.insert(runs).values({
          id: runId,
          userId: input.userId,
          conversationId: input.conversationId,
          userMessageId: message.id,
          clientMessageId: input.clientMessageId ?? null,
          status: 'running',
          model: input.model,
          createdAt: now,
        });
        await tx
          .update(conversations)
          .set({ lastActiveAt: now, messageCount: sql`${conversations.messageCount} + 1` })
          .where(eq(conversations.id, input.conversationId));
        return { runId, conversationId: input.conversationId, userMessage: toMessage(message) };
      });
    } catch (error) {
      if (isUniqueViolation(error, 'runs_one_active_idx')) return { conflict: 'run_active' };
      if (isUniqueViolation(error, 'runs_client_message_idx')) return { conflict: 'duplicate' };
      throw error;
    }
  }

  async run(userId: string, runId: string): Promise<RunRecord> {
    const [row] = await this.db
      .select()
      .from(runs)
      .where(and(eq(runs.id, runId), eq(runs.userId, userId)));
    if (!row) throw notFound('run');
    return row;
  }

  async message(messageId: string): Promise<Message | null> {
    const [row] = await this.db.select().from(messages).where(eq(messages.id, messageId));
    return row ? toMessage(row) : null;
  }

  /** The newest `limit` messages before `beforeMessageId`'s, oldest first: the turn's history. */
  async recentMessages(conversationId: string, beforeMessageId: string, limit: number) {
    const rows = await this.db
      .select({ role: messages.role, content: messages.content })
      .from(messages)
      .where(
        and(
          eq(messages.conversationId, conversationId),
          lt(messages.seq, sql`(select seq from ${messages} where id = ${beforeMessageId})`),
          sql`${messages.content} <> ''`,
        ),
      )
      .orderBy(desc(messages.seq))
      .limit(limit);
    return rows.reverse();
  }

  /** Ends a run, storing the assistant's message (complete or partial) when there is one. */
  async finishRun(input: {
    run: { id: string; userId: string; conversationId: string };
    status: Exclude<RunStatus, 'queued' | 'running'>;
    text: string;
    usage: Usage;
    firstTokenAt: Date | null;
    error?: { code: string; message: string };
  }): Promise<Message | null> {
    const now = this.clock.now();
    const messageStatus: MessageStatus = input.status === 'completed' ? 'complete' : 'incomplete';
    const keepMessage = input.status === 'completed' || input.text.length > 0;
    return this.db.transaction(async (tx) => {
      let message: Message | null = null;
      if (keepMessage) {
        const [row] = await tx
          .insert(messages)
          .values({
            id: randomUUID(),
            userId: input.run.userId,
            conversationId: input.run.conversationId,
            runId: input.run.id,
            role: 'assistant',
            content: input.text,
            status: messageStatus,
            promptTokens: input.usage.promptTokens,
            completionTokens: input.usage.completionTokens,
            costMicros: Math.round(input.usage.costUsd * MICROS_PER_USD),
            createdAt: now,
          })
          .returning();
        message = row ? toMessage(row) : null;
        await tx
          .update(conversations)
          .set({ lastActiveAt: now, messageCount: sql`${conversations.messageCount} + 1` })
          .where(eq(conversations.id, input.run.conversationId));
      }
      await tx
        .update(runs)
        .set({
          status: input.status,
          assistantMessageId: message?.id ?? null,
          firstTokenAt: input.firstTokenAt,
          finishedAt: now,
          errorCode: input.error?.code ?? null,
          errorMessage: input.error?.message ?? null,
        })
        .where(eq(runs.id, input.run.id));
      return message;
    });
  }

  async history(userId: string, conversationId: string, cursor: string | undefined, limit: number) {
    const before = cursor ? decodeCursor<{ c: string; s: number }>(cursor, ['c', 's']) : undefined;
    if (before && before.c !== conversationId) throw new AppError('NOT_FOUND', 'That page cursor is not known.');
    const rows = await this.db
      .select()
      .from(messages)
      .where(
        and(
          eq(messages.conversationId, conversationId),
          eq(messages.userId, userId),
          before ? lt(messages.seq, before.s) : undefined,
        ),
      )
      .orderBy(desc(messages.seq))
      .limit(limit + 1);
    const page = rows.slice(0, limit).reverse();
    const oldest = page[0];
    return {
      messages: page.map(toMessage),
      nextCursor: rows.length > limit && oldest ? encodeCursor({ c: conversationId, s: oldest.seq }) : null,
    };
  }

  async activeRunIds(userId: string): Promise<string[]> {
    const rows = await this.db
      .select({ id: runs.id })
      .from(runs)
      .where(and(eq(runs.userId, userId), inArray(runs.status, ACTIVE)));
    return rows.map((row) => row.id);
  }

  async countMessages(userId: string): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(messages)
      .where(eq(messages.userId, userId));
    return row?.n ?? 0;
  }

  async deleteAllMessages(userId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.delete(messages).where(eq(messages.userId, userId));
      await tx.update(conversations).set({ messageCount: 0 }).where(eq(conversations.userId, userId));
    });
  }

  /**
   * Runs a crash left running can never finish: marks them failed. Only safe where this process is
   * the store's one owner (PGlite); on a shared PostgreSQL other processes' live runs would be hit.
   */
  async failOrphanedRuns(): Promise<number> {
    const failed = await this.db
      .update(runs)
      .set({
        status: 'failed',
        errorCode: 'INTERNAL',
        errorMessage: 'The server stopped while this run was in progress.',
        finishedAt: this.clock.now(),
      })
      .where(inArray(runs.status, ACTIVE))
      .returning({ id: runs.id });
    return failed.length;
  }
}
