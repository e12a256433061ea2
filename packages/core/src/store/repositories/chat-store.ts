import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Conversation, HistoryMessage, Message, RunStatus } from '../../domain/chat';
import { AppError, runActiveError } from '../../domain/errors';
import type { Clock } from '../../ports/clock';
import type { ConversationRepository, ConversationSettings } from '../../ports/conversation-repository';
import type { MessageRepository, TurnContext } from '../../ports/message-repository';
import type {
  BranchConflict,
  BranchRunInput,
  FinishedRun,
  NewRun,
  RunRecord,
  RunRef,
  RunRepository,
  RunStart,
  StartedRun,
} from '../../ports/run-repository';
import { conversationsCursor, decodeCursor, encodeCursor, historyCursor, invalidCursor } from '../cursor';
import { type Database, queryRows } from '../database';
import { isUniqueViolation } from '../errors';
import { conversationSummaries, conversations, messages, reservations, runs } from '../schema';
import { ContextCache } from './context-cache';
import { ConversationStates } from './conversation-states';
import { MICROS_PER_USD, toConversation, toMessage } from './message-row';

const ACTIVE: RunStatus[] = ['queued', 'running'];

/** Messages kept per cached conversation: more than any turn asks for. */
const CONTEXT_KEEP = 256;
/** Conversations whose owner and active run are held (about 100 bytes each). */
const STATES_KEEP = 100_000;
/** About 32 MB of cached message text at most. */
const CONTEXT_MAX_CHARACTERS = 16_000_000;
const notFound = (what: string) => new AppError('NOT_FOUND', `That ${what} does not exist.`);

/**
 * Conversations, messages and runs on Drizzle (PGlite or PostgreSQL), the three repositories in one
 * class: a send stores its message and its run in one statement, a run's end its answer, and the
 * sole-writer caches below span all three. Every read is scoped to the calling user.
 */
export class DrizzleChatStore implements ConversationRepository, MessageRepository, RunRepository {
  /** Each user's default conversation id; a send that finds it gone asks again (see forgetDefault). */
  private readonly defaults = new Map<string, string>();
  private readonly contexts: ContextCache | null;
  private readonly states: ConversationStates | null;

  /**
   * `soleWriter`: no other process writes this store (the embedded PGlite), so the recent messages
   * of conversations are kept in memory and a turn reads its history from there, and a send into a
   * conversation seen before is decided in memory (see startRun).
   */
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    soleWriter = false,
    /** The server instance whose runs these are (`runs.instance_id`). */
    private readonly instanceId: string | null = null,
  ) {
    this.contexts = soleWriter ? new ContextCache(CONTEXT_KEEP, CONTEXT_MAX_CHARACTERS) : null;
    this.states = soleWriter ? new ConversationStates(STATES_KEEP) : null;
  }

  async conversation(userId: string, conversationId: string): Promise<Conversation> {
    const [row] = await this.db
      .select()
      .from(conversations)
      .where(and(eq(conversations.id, conversationId), eq(conversations.userId, userId)));
    if (!row) throw notFound('conversation');
    return toConversation(row);
  }

  /** The id of the user's default conversation, from memory when it was seen before. */
  async defaultConversationId(userId: string): Promise<string> {
    const known = this.defaults.get(userId);
    if (known) return known;
    const { id } = await this.defaultConversation(userId);
    this.defaults.set(userId, id);
    return id;
  }

  forgetDefault(userId: string): void {
    this.defaults.delete(userId);
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

  async createConversation(userId: string, title: string | null, model: string | null = null): Promise<Conversation> {
    const [row] = await this.db.insert(conversations).values({ id: randomUUID(), userId, title, model }).returning();
    if (!row) throw new Error('insert returned no row');
    this.states?.started(row.id, userId, null);
    this.states?.remember(row.id, { model, titled: title !== null });
    return toConversation(row);
  }

  async renameConversation(userId: string, conversationId: string, title: string): Promise<Conversation> {
    return this.updateConversation(userId, conversationId, { title });
  }

  async setConversationModel(userId: string, conversationId: string, model: string | null): Promise<Conversation> {
    return this.updateConversation(userId, conversationId, { model });
  }

  private async updateConversation(
    userId: string,
    conversationId: string,
    set: { title?: string; model?: string | null },
  ): Promise<Conversation> {
    const [row] = await this.db
      .update(conversations)
      .set(set)
      .where(and(eq(conversations.id, conversationId), eq(conversations.userId, userId)))
      .returning();
    if (!row) throw notFound('conversation');
    this.states?.remember(row.id, { model: row.model, titled: row.title !== null });
    return toConversation(row);
  }

  /**
   * The conversation's model and whether it has a title, for a send; from memory on the embedded
   * store once known. Null when it is not the user's (the send then answers NOT_FOUND).
   */
  async conversationSettings(userId: string, conversationId: string): Promise<ConversationSettings | null> {
    const known = this.states?.settings(conversationId, userId);
    if (known) return known;
    const [row] = await this.db
      .select({ model: conversations.model, title: conversations.title })
      .from(conversations)
      .where(and(eq(conversations.id, conversationId), eq(conversations.userId, userId)));
    if (!row) return null;
    const settings = { model: row.model, titled: row.title !== null };
    this.states?.remember(conversationId, settings);
    return settings;
  }

  /**
   * Gives an untitled conversation the title its first answer earned. A title the user set (even a
   * moment ago, in another process) is never replaced: null when the conversation has one or is gone.
   */
  async setGeneratedTitle(userId: string, conversationId: string, title: string): Promise<Conversation | null> {
    const [row] = await this.db
      .update(conversations)
      .set({ title })
      .where(
        and(
          eq(conversations.id, conversationId),
          eq(conversations.userId, userId),
          sql`${conversations.title} is null`,
        ),
      )
      .returning();
    if (!row) return null;
    this.states?.remember(row.id, { model: row.model, titled: true });
    return toConversation(row);
  }

  async deleteConversation(userId: string, conversationId: string): Promise<void> {
    const [active] = await this.db
      .select({ id: runs.id })
      .from(runs)
      // Scoped to the caller: another user's conversation must answer as one that does not exist.
      .where(and(eq(runs.conversationId, conversationId), eq(runs.userId, userId), inArray(runs.status, ACTIVE)));
    if (active) throw new AppError('RUN_ACTIVE', 'A run is still answering in this conversation; cancel it first.');
    const deleted = await this.db
      .delete(conversations)
      .where(and(eq(conversations.id, conversationId), eq(conversations.userId, userId)))
      .returning({ id: conversations.id });
    if (deleted.length === 0) throw notFound('conversation');
    this.contexts?.forget(conversationId);
    this.states?.forget(conversationId);
    if (this.defaults.get(userId) === conversationId) this.defaults.delete(userId);
  }

  async listConversations(userId: string, cursor: string | undefined, limit: number) {
    const after = cursor ? decodeCursor(conversationsCursor, cursor) : undefined;
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
   * Stores the user's message and its run in one statement (one round trip), and only if the
   * conversation belongs to the user. The database's one-active-run index decides RUN_ACTIVE, so two
   * sends racing into one conversation cannot both start; a refused send stores nothing.
   *
   * As the store's one writer, a conversation whose owner and active run are held in memory is
   * decided here and its write goes behind: the statement is queued ahead of anything the run
   * writes later, and `stored` settles when it is done (ChatService answers the send only then).
   * A send with a clientMessageId always waits, since only the database knows earlier ones.
   */
  async startRun(input: NewRun): Promise<RunStart | { conflict: 'run_active' | 'duplicate' | 'no_conversation' }> {
    const runId = randomUUID();
    const now = this.clock.now();
    const userMessage: Message = {
      id: randomUUID(),
      conversationId: input.conversationId,
      // Known once the statement has read the conversation's leaf (see insertRun).
      parentId: null,
      role: 'user',
      content: input.text,
      status: 'complete',
      createdAt: now,
      usage: null,
    };
    const started = { runId, conversationId: input.conversationId, userMessage };
    const cached = (seq: number) => ({ id: userMessage.id, seq, role: 'user' as const, content: input.text });

    const claim =
      this.states && !input.clientMessageId ? this.states.claim(input.conversationId, input.userId, runId) : 'unknown';
    if (claim === 'not_found') return { conflict: 'no_conversation' };
    if (claim === 'run_active') return { conflict: 'run_active' };
    if (claim === 'claimed') {
      // Placed after everything stored until the statement says where it went.
      this.contexts?.append(input.conversationId, cached(Number.POSITIVE_INFINITY));
      const stored = this.insertRun(input, runId, userMessage.id, now).then(
        (inserted) => {
          if (inserted === null) throw notFound('conversation');
          // The message is the one send answers with, once this has settled: it is complete then.
          userMessage.parentId = inserted.parentId;
          this.contexts?.placed(input.conversationId, userMessage.id, inserted.seq);
        },
        (error: unknown) => {
          throw isUniqueViolation(error, 'runs_one_active_idx') ? runActiveError() : error;
        },
      );
      stored.catch(() => {
        this.states?.forget(input.conversationId);
        this.contexts?.forget(input.conversationId);
      });
      return { ...started, stored };
    }

    try {
      const inserted = await this.insertRun(input, runId, userMessage.id, now);
      if (inserted === null) return { conflict: 'no_conversation' };
      userMessage.parentId = inserted.parentId;
      this.contexts?.append(input.conversationId, cached(inserted.seq));
      this.states?.started(input.conversationId, input.userId, runId);
    } catch (error) {
      if (isUniqueViolation(error, 'runs_one_active_idx')) return { conflict: 'run_active' };
      if (isUniqueViolation(error, 'runs_client_message_idx')) return { conflict: 'duplicate' };
      throw error;
    }
    return { ...started, stored: Promise.resolve() };
  }

  /**
   * The message's seq and parent, or null when the conversation is not the user's. The new message
   * follows `parent` (an edit: the edited message's parent), or else the conversation's leaf (a send),
   * and becomes the leaf. The leaf is read from the statement's snapshot: of two sends racing into
   * one conversation, the one-active-run index lets only one be stored.
   */
  private async insertRun(
    input: NewRun,
    runId: string,
    messageId: string,
    now: Date,
    parent?: { id: string | null },
  ): Promise<{ seq: number; parentId: string | null } | null> {
    const at = now.toISOString();
    const parentId = parent
      ? sql`${parent.id}::uuid`
      : sql`(select leaf_message_id from conversations where id = ${input.conversationId}::uuid)`;
    const [row] = await queryRows<{ id: string; seq: number; parent_id: string | null }>(
      this.db,
      sql`with conv as (
            update conversations set last_active_at = ${at}::timestamptz, message_count = message_count + 1,
                   leaf_message_id = ${messageId}::uuid
            where id = ${input.conversationId}::uuid and user_id = ${input.userId}::uuid
            returning id
          ), msg as (
            insert into messages (id, user_id, conversation_id, run_id, parent_id, role, content, status, created_at)
            select ${messageId}::uuid, ${input.userId}::uuid, conv.id, ${runId}::uuid, ${parentId}, 'user',
                   ${input.text}, 'complete', ${at}::timestamptz
            from conv
            returning id, conversation_id, seq, parent_id
          ), run as (
            insert into runs (id, user_id, conversation_id, user_message_id, client_message_id, status, model,
                              created_at, heartbeat_at, instance_id)
            select ${runId}::uuid, ${input.userId}::uuid, msg.conversation_id, msg.id,
                   ${input.clientMessageId ?? null}::uuid, 'running', ${input.model}, ${at}::timestamptz, now(),
                   ${this.instanceId}
            from msg
            returning id
          )
          select run.id, (select seq::float8 from msg) as seq, (select parent_id from msg) as parent_id from run`,
    );
    return row ? { seq: Number(row.seq), parentId: row.parent_id } : null;
  }

  /** The conversation a message of the user's is in; null when the message is not the user's. */
  async conversationOfMessage(userId: string, messageId: string): Promise<string | null> {
    const [row] = await this.db
      .select({ conversationId: messages.conversationId })
      .from(messages)
      .where(and(eq(messages.id, messageId), eq(messages.userId, userId)));
    return row?.conversationId ?? null;
  }

  /**
   * A new run answering the last user message of the conversation's active branch again. `messageId`
   * is the branch's last answer (the leaf), or that user message itself (its answer is the leaf, or it
   * has none: its run failed before writing). The old answer stays, a sibling of the new one; the
   * branch ends at the user message until the new answer is stored.
   */
  async startRegenerate(input: BranchRunInput): Promise<RunStart | { conflict: BranchConflict }> {
    const [target] = await queryRows<{
      role: 'user' | 'assistant';
      parent_id: string | null;
      conversation_id: string;
      leaf_id: string | null;
      leaf_role: 'user' | 'assistant' | null;
      leaf_parent_id: string | null;
    }>(
      this.db,
      sql`select m.role, m.parent_id, m.conversation_id, c.leaf_message_id as leaf_id, leaf.role as leaf_role,
                 leaf.parent_id as leaf_parent_id
          from messages m
          join conversations c on c.id = m.conversation_id and c.user_id = m.user_id
          left join messages leaf on leaf.id = c.leaf_message_id
          where m.id = ${input.messageId}::uuid and m.user_id = ${input.userId}::uuid`,
    );
    if (!target) return { conflict: 'not_found' };
    const answered =
      target.role === 'assistant'
        ? target.leaf_id === input.messageId
          ? target.parent_id
          : null
        : target.leaf_id === input.messageId ||
            (target.leaf_role === 'assistant' && target.leaf_parent_id === input.messageId)
          ? input.messageId
          : null;
    if (!answered || !target.leaf_id) return { conflict: 'not_last_answer' };
    const conversationId = target.conversation_id;
    const leafId = target.leaf_id;
    return this.startBranchRun(input.userId, conversationId, async (runId, at) => {
      const [row] = await queryRows<{ id: string }>(
        this.db,
        sql`with conv as (
              update conversations set last_active_at = ${at.toISOString()}::timestamptz,
                     leaf_message_id = ${answered}::uuid
              where id = ${conversationId}::uuid and user_id = ${input.userId}::uuid
                and leaf_message_id = ${leafId}::uuid
              returning id
            )
            insert into runs (id, user_id, conversation_id, user_message_id, status, model, created_at,
                              heartbeat_at, instance_id)
            select ${runId}::uuid, ${input.userId}::uuid, conv.id, ${answered}::uuid, 'running', ${input.model},
                   ${at.toISOString()}::timestamptz, now(), ${this.instanceId}
            from conv
            returning id`,
      );
      // The leaf moved since it was read (another process): the answer is no longer the last one.
      if (!row) return null;
      const userMessage = await this.message(answered);
      if (!userMessage) return null;
      await this.keepSummaryOnBranch(conversationId, answered);
      this.contexts?.rewind(conversationId, answered);
      return userMessage;
    });
  }

  /**
   * A new user message in place of `messageId` (a version of it: same parent), and a run answering it.
   * The new message becomes the branch's leaf; the edited one and what followed it stay, listable.
   */
  async startEdit(input: BranchRunInput & { text: string }): Promise<RunStart | { conflict: BranchConflict }> {
    const [target] = await this.db
      .select({ role: messages.role, parentId: messages.parentId, conversationId: messages.conversationId })
      .from(messages)
      .where(and(eq(messages.id, input.messageId), eq(messages.userId, input.userId)));
    if (!target) return { conflict: 'not_found' };
    if (target.role !== 'user') return { conflict: 'not_user_message' };
    const { conversationId, parentId } = target;
    return this.startBranchRun(input.userId, conversationId, async (runId, at) => {
      const userMessage: Message = {
        id: randomUUID(),
        conversationId,
        parentId,
        role: 'user',
        content: input.text,
        status: 'complete',
        createdAt: at,
        usage: null,
      };
      const inserted = await this.insertRun(
        { userId: input.userId, conversationId, text: input.text, model: input.model },
        runId,
        userMessage.id,
        at,
        { id: parentId },
      );
      if (!inserted) return null;
      await this.keepSummaryOnBranch(conversationId, parentId);
      if (parentId) this.contexts?.rewind(conversationId, parentId);
      else this.contexts?.forget(conversationId);
      this.contexts?.append(conversationId, {
        id: userMessage.id,
        seq: inserted.seq,
        role: 'user',
        content: input.text,
      });
      return userMessage;
    });
  }

  /**
   * Stores a regenerate's or an edit's run through `store` (null: the conversation changed under it),
   * one active run per conversation as for a send. Never written behind: these are rare, and what
   * they check is the database's to say.
   */
  private async startBranchRun(
    userId: string,
    conversationId: string,
    store: (runId: string, at: Date) => Promise<Message | null>,
  ): Promise<RunStart | { conflict: BranchConflict }> {
    const runId = randomUUID();
    const claim = this.states ? this.states.claim(conversationId, userId, runId) : 'unknown';
    if (claim === 'run_active') return { conflict: 'run_active' };
    let userMessage: Message | null;
    try {
      userMessage = await store(runId, this.clock.now());
    } catch (error) {
      this.states?.forget(conversationId);
      if (isUniqueViolation(error, 'runs_one_active_idx')) return { conflict: 'run_active' };
      throw error;
    }
    if (!userMessage) {
      this.states?.forget(conversationId);
      return { conflict: 'not_last_answer' };
    }
    this.states?.started(conversationId, userId, runId);
    return { runId, conversationId, userMessage, stored: Promise.resolve() };
  }

  /**
   * Shows the branch through `messageId`: from it down, the newest version at each point, to a leaf.
   * Refused while a run answers in the conversation (its answer would land off the branch shown).
   */
  async switchBranch(
    userId: string,
    messageId: string,
  ): Promise<{ conversationId: string; leafId: string } | { conflict: 'not_found' | 'run_active' }> {
    const [target] = await this.db
      .select({ conversationId: messages.conversationId })
      .from(messages)
      .where(and(eq(messages.id, messageId), eq(messages.userId, userId)));
    if (!target) return { conflict: 'not_found' };
    const { conversationId } = target;
    const [switched] = await queryRows<{ leaf_id: string }>(
      this.db,
      sql`with recursive down as (
            select ${messageId}::uuid as id, 0 as depth
            union all
            select child.id, down.depth + 1 from down
            cross join lateral (
              select m.id from messages m
              where m.conversation_id = ${conversationId}::uuid and m.parent_id = down.id
              order by m.seq desc limit 1
            ) child
          ), leaf as (
            select id from down order by depth desc limit 1
          )
          update conversations set leaf_message_id = (select id from leaf)
          where id = ${conversationId}::uuid and user_id = ${userId}::uuid
            and not exists (select 1 from runs where runs.conversation_id = ${conversationId}::uuid
                              and runs.status in ('queued', 'running'))
          returning leaf_message_id as leaf_id`,
    );
    if (!switched) return { conflict: 'run_active' };
    await this.keepSummaryOnBranch(conversationId, switched.leaf_id);
    this.contexts?.forget(conversationId);
    return { conversationId, leafId: switched.leaf_id };
  }

  /**
   * A conversation's summary stands for the first messages of the branch it was written on. Once the
   * branch shown ends elsewhere, it is kept only if the message it was written through is still on
   * the branch (an ancestor of `messageId`); otherwise it would bring another branch's messages into
   * the next turn, so it goes, and the turn reads the branch's own messages (and summarises anew).
   */
  private async keepSummaryOnBranch(conversationId: string, messageId: string | null): Promise<void> {
    const [summary] = await this.db
      .select({ throughSeq: conversationSummaries.throughSeq })
      .from(conversationSummaries)
      .where(eq(conversationSummaries.conversationId, conversationId));
    if (!summary) return;
    const onBranch = messageId
      ? await queryRows<{ seq: number }>(
          this.db,
          sql`with recursive up as (
                select id, parent_id, seq from messages where id = ${messageId}::uuid
                union all
                select m.id, m.parent_id, m.seq from messages m join up on m.id = up.parent_id
                where up.seq > ${summary.throughSeq}
              )
              select seq::float8 as seq from up where seq = ${summary.throughSeq}`,
        )
      : [];
    if (onBranch.length > 0) return;
    await this.db.delete(conversationSummaries).where(eq(conversationSummaries.conversationId, conversationId));
    this.contexts?.forget(conversationId);
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

  /**
   * What a turn starts from, in one query: the conversation's summary (if earlier messages were
   * compacted) and the newest `limit` messages after it that `beforeMessageId` follows (its branch,
   * walked up through parent_id: never a sibling version, such as the answer a regenerate replaces),
   * oldest first.
   */
  async turnContext(conversationId: string, beforeMessageId: string, limit: number): Promise<TurnContext> {
    const cached = this.contexts?.get(conversationId, beforeMessageId, limit);
    if (cached) return cached;
    // With a cache, fetch enough to fill it, the new message included, so later turns need no query.
    const fetched = this.contexts ? Math.max(limit, CONTEXT_KEEP) : limit + 1;
    const rows = await queryRows<{
      id: string | null;
      seq: number;
      role: 'user' | 'assistant' | 'summary';
      content: string;
    }>(
      this.db,
      sql`with recursive cut as (
            select coalesce((select through_seq from conversation_summaries
                             where conversation_id = ${conversationId}::uuid), 0) as seq
          ), branch as (
            select id, parent_id, seq, role, content, (case when content <> '' then 1 else 0 end) as kept
            from messages where id = ${beforeMessageId}::uuid and conversation_id = ${conversationId}::uuid
            union all
            select m.id, m.parent_id, m.seq, m.role, m.content,
                   branch.kept + (case when m.content <> '' then 1 else 0 end)
            from messages m join branch on m.id = branch.parent_id
            where m.seq > (select seq from cut) and branch.kept < ${fetched}
          )
          (select null::uuid as id, 0::float8 as seq, 'summary' as role, summary as content
             from conversation_summaries where conversation_id = ${conversationId}::uuid)
          union all
          (select id, seq::float8, role, content from branch)`,
    );
    const summary = rows.find((row) => row.role === 'summary')?.content ?? null;
    const branch = rows
      .filter((row) => row.role !== 'summary')
      .map((row) => ({
        id: row.id ?? '',
        seq: Number(row.seq),
        role: row.role as 'user' | 'assistant',
        content: row.content,
      }))
      .sort((a, b) => a.seq - b.seq);
    const nonEmpty = branch.filter((message) => message.content !== '');
    // Fewer than asked for: the walk reached the summary or the conversation's first message.
    this.contexts?.fill(conversationId, summary, branch, nonEmpty.length < fetched);
    const before = nonEmpty.filter((message) => message.id !== beforeMessageId);
    return {
      summary,
      history: before
        .slice(Math.max(0, before.length - limit))
        .map(({ seq, role, content }) => ({ seq, role, content })),
    };
  }

  /** Records that messages up to `throughSeq` are now represented by `summary`. */
  async saveSummary(conversationId: string, summary: string, throughSeq: number): Promise<void> {
    const updatedAt = this.clock.now();
    await this.db
      .insert(conversationSummaries)
      .values({ conversationId, summary, throughSeq, updatedAt })
      .onConflictDoUpdate({ target: conversationSummaries.conversationId, set: { summary, throughSeq, updatedAt } });
    this.contexts?.summarise(conversationId, summary, throughSeq);
  }

  /**
   * Ends a run in one statement: the assistant's message (complete, or partial when there is text),
   * the conversation's counters, the agent's last activity and the run's outcome.
   */
  async finishRun(input: FinishedRun): Promise<Message | null> {
    const now = this.clock.now();
    const at = now.toISOString();
    const { run, usage } = input;
    const message: Message | null =
      input.status === 'completed' || input.text.length > 0
        ? {
            id: input.messageId ?? randomUUID(),
            conversationId: run.conversationId,
            parentId: run.userMessageId,
            role: 'assistant',
            content: input.text,
            status: input.status === 'completed' ? 'complete' : 'incomplete',
            createdAt: now,
            usage: { ...usage },
          }
        : null;
    const stored = message
      ? sql`msg as (
          insert into messages (id, user_id, conversation_id, run_id, parent_id, role, content, status,
                                prompt_tokens, completion_tokens, cost_micros, created_at)
          values (${message.id}::uuid, ${run.userId}::uuid, ${run.conversationId}::uuid, ${run.id}::uuid,
                  ${run.userMessageId}::uuid, 'assistant', ${message.content}, ${message.status},
                  ${usage.promptTokens}, ${usage.completionTokens},
                  ${Math.round(usage.costUsd * MICROS_PER_USD)}, ${at}::timestamptz)
          on conflict (id) do update set content = excluded.content, status = excluded.status,
            prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,
            cost_micros = excluded.cost_micros, created_at = excluded.created_at
          returning id, seq, (xmax = 0) as inserted
        ), conv as (
          update conversations set last_active_at = ${at}::timestamptz,
                 message_count = message_count + (select case when inserted then 1 else 0 end from msg),
                 ${leafAfterAnswer(run, message.id)}
          where id = ${run.conversationId}::uuid
        ),`
      : // No answer (refused by the budget, failed or cancelled before any text): a regenerated
        // answer's branch goes back to the answer it was to replace, the newest earlier version.
        sql`conv as (
          update conversations set leaf_message_id = (
            select m.id from messages m where m.parent_id = ${run.userMessageId}::uuid
              and m.conversation_id = ${run.conversationId}::uuid
            order by m.seq desc limit 1)
          where id = ${run.conversationId}::uuid and leaf_message_id = ${run.userMessageId}::uuid
            and exists (select 1 from messages m where m.parent_id = ${run.userMessageId}::uuid
                          and m.conversation_id = ${run.conversationId}::uuid)
        ),`;
    const [finished] = await queryRows<{ seq: number | null }>(
      this.db,
      sql`with ${stored} agent as (
            update agents set last_active_at = ${at}::timestamptz where user_id = ${run.userId}::uuid
          )
          update runs set status = ${input.status}, assistant_message_id = ${message?.id ?? null}::uuid,
                 first_token_at = ${input.firstTokenAt?.toISOString() ?? null}::timestamptz,
                 finished_at = ${at}::timestamptz,
                 error_code = ${input.error?.code ?? null}, error_message = ${input.error?.message ?? null}
          where id = ${run.id}::uuid
          returning ${message ? sql`(select seq::float8 from msg)` : sql`null::float8`} as seq`,
    ).catch((error: unknown) => {
      // Whether the run still counts as active is now the database's to say.
      this.states?.forget(run.conversationId);
      throw error;
    });
    this.states?.ended(run.conversationId, run.id);
    // The branch may have gone back to an earlier answer the cache no longer holds (see above).
    if (!message) this.contexts?.forget(run.conversationId);
    if (message && finished?.seq != null) {
      this.contexts?.append(run.conversationId, {
        id: message.id,
        seq: Number(finished.seq),
        role: 'assistant',
        content: message.content,
      });
    }
    return message;
  }

  /**
   * Stores the text a live run has streamed so far as its assistant message (`incomplete`), so a
   * crash keeps it: the first call inserts the message, later ones replace its text, and finishRun
   * ends it under the same id. A message already ended is left as it is.
   */
  async savePartial(run: RunRef, messageId: string, text: string): Promise<void> {
    const at = this.clock.now().toISOString();
    await this.db.execute(
      sql`with msg as (
            insert into messages (id, user_id, conversation_id, run_id, parent_id, role, content, status, created_at)
            values (${messageId}::uuid, ${run.userId}::uuid, ${run.conversationId}::uuid, ${run.id}::uuid,
                    ${run.userMessageId}::uuid, 'assistant', ${text}, 'incomplete', ${at}::timestamptz)
            on conflict (id) do update set content = excluded.content where messages.status = 'incomplete'
            returning (xmax = 0) as inserted
          )
          update conversations set message_count = message_count + 1, ${leafAfterAnswer(run, messageId)}
          where id = ${run.conversationId}::uuid and exists (select 1 from msg where inserted)`,
    );
  }

  /**
   * A page of the conversation's active branch, oldest first, going back in time from the leaf (or
   * from before the cursor's message), each message with the ids of its versions.
   */
  async history(
    userId: string,
    conversationId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ messages: HistoryMessage[]; nextCursor: string | null }> {
    const before = cursor ? decodeCursor(historyCursor, cursor) : undefined;
    if (before && before.c !== conversationId) throw invalidCursor();
    const start = before
      ? sql`(select parent_id from messages where conversation_id = ${conversationId}::uuid and seq = ${before.s})`
      : sql`(select leaf_message_id from conversations where id = ${conversationId}::uuid)`;
    const branch = await queryRows<{ id: string }>(
      this.db,
      sql`with recursive branch as (
            select id, parent_id, 1 as depth from messages
            where id = ${start} and conversation_id = ${conversationId}::uuid and user_id = ${userId}::uuid
            union all
            select m.id, m.parent_id, branch.depth + 1 from messages m join branch on m.id = branch.parent_id
            where branch.depth < ${limit}
          )
          select id from branch`,
    );
    if (branch.length === 0) return { messages: [], nextCursor: null };
    const rows = await this.db
      .select()
      .from(messages)
      .where(
        inArray(
          messages.id,
          branch.map((row) => row.id),
        ),
      )
      .orderBy(asc(messages.seq));
    const parents = [...new Set(rows.flatMap((row) => (row.parentId ? [row.parentId] : [])))];
    const siblings = await this.db
      .select({ id: messages.id, parentId: messages.parentId })
      .from(messages)
      .where(
        and(
          eq(messages.conversationId, conversationId),
          or(
            parents.length > 0 ? inArray(messages.parentId, parents) : undefined,
            rows.some((row) => row.parentId === null) ? isNull(messages.parentId) : undefined,
          ),
        ),
      )
      .orderBy(asc(messages.seq));
    const versions = new Map<string | null, string[]>();
    for (const { id, parentId } of siblings) versions.set(parentId, [...(versions.get(parentId) ?? []), id]);
    const oldest = rows[0];
    return {
      messages: rows.map((row) => ({ ...toMessage(row), siblingIds: versions.get(row.parentId) ?? [row.id] })),
      nextCursor: oldest?.parentId ? encodeCursor({ c: conversationId, s: oldest.seq }) : null,
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
      await tx
        .delete(conversationSummaries)
        .where(
          inArray(
            conversationSummaries.conversationId,
            tx.select({ id: conversations.id }).from(conversations).where(eq(conversations.userId, userId)),
          ),
        );
      await tx
        .update(conversations)
        .set({ messageCount: 0, leafMessageId: null })
        .where(eq(conversations.userId, userId));
    });
    // Rare enough that forgetting every conversation beats tracking whose they are.
    this.contexts?.clear();
  }

  /** Tells other processes that these runs are still being worked on here. */
  async heartbeat(runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    await this.db
      .update(runs)
      // The database's clock, for every process alike: hosts whose clocks disagree must not end each other's runs.
      .set({ heartbeatAt: sql`now()` })
      .where(inArray(runs.id, [...runIds]));
  }

  /**
   * Runs that have ended but still hold a reservation whose process stopped beating them: only a
   * title outlives its run (ChatService beats the runs it is titling), so these are titles of a dead
   * process, whose reservations are to be settled for what they received. `ownInstance` as in
   * failOrphanedRuns.
   */
  async endedRunsHoldingReservations(staleForMs: number, ownInstance?: string): Promise<string[]> {
    const rows = await this.db
      .selectDistinct({ id: runs.id })
      .from(reservations)
      .innerJoin(runs, eq(runs.id, reservations.runId))
      .where(
        and(
          sql`${runs.status} not in ('queued', 'running')`,
          or(
            lt(runs.heartbeatAt, sql`now() - make_interval(secs => ${staleForMs / 1000})`),
            ownInstance ? eq(runs.instanceId, ownInstance) : undefined,
          ),
        ),
      );
    return rows.map((row) => row.id);
  }

  /**
   * Runs a crash left running can never finish: marks them failed, keeping the text they had saved
   * (savePartial) as their partial message, and returns their ids. With no `staleForMs`, every
   * active run (PGlite, whose one owner is the process starting now). With it, on PostgreSQL shared
   * by live processes, the runs whose process has not beaten for that long (by the database's
   * clock, as beats are), and those of `ownInstance`: an instance that restarted under the same id
   * ends its own runs at once.
   */
  async failOrphanedRuns(staleForMs?: number, ownInstance?: string): Promise<string[]> {
    const orphaned =
      staleForMs === undefined
        ? undefined
        : or(
            lt(runs.heartbeatAt, sql`now() - make_interval(secs => ${staleForMs / 1000})`),
            ownInstance ? eq(runs.instanceId, ownInstance) : undefined,
          );
    const failed = await this.db
      .update(runs)
      .set({
        status: 'failed',
        errorCode: 'INTERNAL',
        errorMessage: 'The server stopped while this run was in progress.',
        finishedAt: this.clock.now(),
        assistantMessageId: sql`(select m.id from ${messages} m where m.run_id = ${runs.id} and m.role = 'assistant' limit 1)`,
      })
      .where(and(inArray(runs.status, ACTIVE), orphaned))
      .returning({ id: runs.id, conversationId: runs.conversationId });
    for (const { conversationId } of failed) this.states?.forget(conversationId);
    if (failed.length > 0) {
      // A regenerate stopped before any text left its branch ending at the user message it was to
      // answer again, which has answers: the newest of them is shown again (as finishRun does).
      // Nowhere else does a leaf have children.
      const ids = [...new Set(failed.map((run) => run.conversationId))];
      await this.db.execute(
        sql`update conversations c set leaf_message_id = (
              select m.id from messages m where m.parent_id = c.leaf_message_id and m.conversation_id = c.id
              order by m.seq desc limit 1)
            where c.id in (${sql.join(
              ids.map((id) => sql`${id}::uuid`),
              sql`, `,
            )})
              and exists (select 1 from messages m where m.parent_id = c.leaf_message_id and m.conversation_id = c.id)`,
      );
      for (const id of ids) this.contexts?.forget(id);
    }
    return failed.map((run) => run.id);
  }
}

/**
 * The conversation's leaf once an answer to `run` is stored: the answer, when the branch still ends
 * at the message it answers (or at the answer itself, saved before); else the leaf is left alone.
 */
function leafAfterAnswer(run: RunRef, answerId: string) {
  return sql`leaf_message_id = case when leaf_message_id in (${run.userMessageId}::uuid, ${answerId}::uuid)
                                  then ${answerId}::uuid else leaf_message_id end`;
}
