import { randomUUID } from 'node:crypto';
import type { Conversation, HistoryMessage, Message, MessageStatus, RunStatus } from '../domain/chat';
import { AppError } from '../domain/errors';
import { type Clock, systemClock } from '../ports/clock';
import type { ConversationRepository, ConversationSettings } from '../ports/conversation-repository';
import type { MessageRepository, TurnContext } from '../ports/message-repository';
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
} from '../ports/run-repository';
import { conversationsCursor, decodeCursor, encodeCursor, historyCursor, invalidCursor } from '../store/cursor';

interface ConversationRow extends Conversation {
  userId: string;
  isDefault: boolean;
  leafId: string | null;
}

interface MessageRow extends Message {
  userId: string;
  runId: string | null;
  seq: number;
}

interface RunRow extends RunRecord {
  clientMessageId: string | null;
  /** Milliseconds of `clock`, as the database's now() is for the Drizzle store. */
  beatAt: number;
  instanceId: string | null;
}

const notFound = (what: string) => new AppError('NOT_FOUND', `That ${what} does not exist.`);
const isActive = (status: RunStatus) => status === 'queued' || status === 'running';

/**
 * The three chat repositories in memory, for unit tests of the services above them: the same
 * contract as DrizzleChatStore (ownership, one active run per conversation, branches of versions,
 * summaries), with nothing written behind. `holdReservation` stands in for the ledger's table.
 */
export class InMemoryChatStore implements ConversationRepository, MessageRepository, RunRepository {
  private readonly conversations = new Map<string, ConversationRow>();
  private readonly messages = new Map<string, MessageRow>();
  private readonly runs = new Map<string, RunRow>();
  private readonly summaries = new Map<string, { summary: string; throughSeq: number }>();
  /** Runs that still hold a reservation (set by a test: the ledger is another port). */
  readonly reservedRuns = new Set<string>();
  private seq = 0;

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly instanceId: string | null = null,
  ) {}

  // Conversations

  async conversation(userId: string, conversationId: string): Promise<Conversation> {
    return toConversation(this.ownConversation(userId, conversationId));
  }

  async defaultConversation(userId: string): Promise<Conversation> {
    const existing = [...this.conversations.values()].find((row) => row.userId === userId && row.isDefault);
    return toConversation(existing ?? this.insertConversation(userId, null, null, true));
  }

  async defaultConversationId(userId: string): Promise<string> {
    return (await this.defaultConversation(userId)).id;
  }

  forgetDefault(): void {
    // Nothing is remembered apart from the conversations themselves.
  }

  async createConversation(userId: string, title: string | null, model: string | null = null): Promise<Conversation> {
    return toConversation(this.insertConversation(userId, title, model, false));
  }

  async renameConversation(userId: string, conversationId: string, title: string): Promise<Conversation> {
    const row = this.ownConversation(userId, conversationId);
    row.title = title;
    return toConversation(row);
  }

  async setConversationModel(userId: string, conversationId: string, model: string | null): Promise<Conversation> {
    const row = this.ownConversation(userId, conversationId);
    row.model = model;
    return toConversation(row);
  }

  async conversationSettings(userId: string, conversationId: string): Promise<ConversationSettings | null> {
    const row = this.conversations.get(conversationId);
    return row && row.userId === userId ? { model: row.model, titled: row.title !== null } : null;
  }

  async setGeneratedTitle(userId: string, conversationId: string, title: string): Promise<Conversation | null> {
    const row = this.conversations.get(conversationId);
    if (!row || row.userId !== userId || row.title !== null) return null;
    row.title = title;
    return toConversation(row);
  }

  async deleteConversation(userId: string, conversationId: string): Promise<void> {
    const active = [...this.runs.values()].some(
      (run) => run.conversationId === conversationId && run.userId === userId && isActive(run.status),
    );
    if (active) throw new AppError('RUN_ACTIVE', 'A run is still answering in this conversation; cancel it first.');
    this.ownConversation(userId, conversationId);
    this.conversations.delete(conversationId);
    this.summaries.delete(conversationId);
    for (const [id, message] of this.messages) if (message.conversationId === conversationId) this.messages.delete(id);
    for (const [id, run] of this.runs) if (run.conversationId === conversationId) this.runs.delete(id);
  }

  async listConversations(userId: string, cursor: string | undefined, limit: number) {
    const after = cursor ? decodeCursor(conversationsCursor, cursor) : undefined;
    const rows = [...this.conversations.values()]
      .filter((row) => row.userId === userId)
      .sort((a, b) => b.lastActiveAt.getTime() - a.lastActiveAt.getTime() || (a.id < b.id ? 1 : -1))
      .filter((row) => {
        if (!after) return true;
        const at = Date.parse(after.at);
        return row.lastActiveAt.getTime() < at || (row.lastActiveAt.getTime() === at && row.id < after.id);
      });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      conversations: page.map(toConversation),
      nextCursor:
        rows.length > limit && last ? encodeCursor({ at: last.lastActiveAt.toISOString(), id: last.id }) : null,
    };
  }

  // Messages

  async message(messageId: string): Promise<Message | null> {
    const row = this.messages.get(messageId);
    return row ? toMessage(row) : null;
  }

  async conversationOfMessage(userId: string, messageId: string): Promise<string | null> {
    const row = this.messages.get(messageId);
    return row && row.userId === userId ? row.conversationId : null;
  }

  async history(
    userId: string,
    conversationId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ messages: HistoryMessage[]; nextCursor: string | null }> {
    const before = cursor ? decodeCursor(historyCursor, cursor) : undefined;
    if (before && before.c !== conversationId) throw invalidCursor();
    const conversation = this.conversations.get(conversationId);
    if (!conversation || conversation.userId !== userId) return { messages: [], nextCursor: null };
    const start = before
      ? [...this.messages.values()].find((row) => row.conversationId === conversationId && row.seq === before.s)
          ?.parentId
      : conversation.leafId;
    const branch = this.branchUp(start ?? null, limit).reverse();
    const oldest = branch[0];
    return {
      messages: branch.map((row) => ({ ...toMessage(row), siblingIds: this.versionsOf(row).map((one) => one.id) })),
      nextCursor: oldest?.parentId ? encodeCursor({ c: conversationId, s: oldest.seq }) : null,
    };
  }

  async turnContext(conversationId: string, beforeMessageId: string, limit: number): Promise<TurnContext> {
    const summary = this.summaries.get(conversationId);
    const cut = summary?.throughSeq ?? 0;
    const start = this.messages.get(beforeMessageId);
    const branch =
      start && start.conversationId === conversationId
        ? this.branchUp(start.parentId, Number.POSITIVE_INFINITY).filter((row) => row.seq > cut)
        : [];
    const kept = branch.filter((row) => row.content !== '').reverse();
    return {
      summary: summary?.summary ?? null,
      history: kept.slice(Math.max(0, kept.length - limit)).map(({ seq, role, content }) => ({ seq, role, content })),
    };
  }

  async saveSummary(conversationId: string, summary: string, throughSeq: number): Promise<void> {
    this.summaries.set(conversationId, { summary, throughSeq });
  }

  async switchBranch(
    userId: string,
    messageId: string,
  ): Promise<{ conversationId: string; leafId: string } | { conflict: 'not_found' | 'run_active' }> {
    const target = this.messages.get(messageId);
    if (!target || target.userId !== userId) return { conflict: 'not_found' };
    const conversation = this.conversations.get(target.conversationId);
    if (!conversation) return { conflict: 'not_found' };
    if (this.activeRun(conversation.id)) return { conflict: 'run_active' };
    let leaf = target;
    for (let child = this.newestChild(leaf.id); child; child = this.newestChild(leaf.id)) leaf = child;
    conversation.leafId = leaf.id;
    this.keepSummaryOnBranch(conversation.id, leaf.id);
    return { conversationId: conversation.id, leafId: leaf.id };
  }

  async countMessages(userId: string): Promise<number> {
    return [...this.messages.values()].filter((row) => row.userId === userId).length;
  }

  async deleteAllMessages(userId: string): Promise<void> {
    for (const [id, row] of this.messages) if (row.userId === userId) this.messages.delete(id);
    for (const conversation of this.conversations.values()) {
      if (conversation.userId !== userId) continue;
      this.summaries.delete(conversation.id);
      conversation.messageCount = 0;
      conversation.leafId = null;
    }
  }

  // Runs

  async runByClientMessageId(userId: string, clientMessageId: string): Promise<StartedRun | null> {
    const run = [...this.runs.values()].find((row) => row.userId === userId && row.clientMessageId === clientMessageId);
    const message = run ? this.messages.get(run.userMessageId) : undefined;
    return run && message
      ? { runId: run.id, conversationId: run.conversationId, userMessage: toMessage(message) }
      : null;
  }

  async startRun(input: NewRun): Promise<RunStart | { conflict: 'run_active' | 'duplicate' | 'no_conversation' }> {
    const conversation = this.conversations.get(input.conversationId);
    if (!conversation || conversation.userId !== input.userId) return { conflict: 'no_conversation' };
    if (this.activeRun(conversation.id)) return { conflict: 'run_active' };
    if (input.clientMessageId && (await this.runByClientMessageId(input.userId, input.clientMessageId))) {
      return { conflict: 'duplicate' };
    }
    return this.insertRun(conversation, input, conversation.leafId);
  }

  async startRegenerate(input: BranchRunInput): Promise<RunStart | { conflict: BranchConflict }> {
    const target = this.messages.get(input.messageId);
    if (!target || target.userId !== input.userId) return { conflict: 'not_found' };
    const conversation = this.conversations.get(target.conversationId);
    if (!conversation?.leafId) return { conflict: 'not_last_answer' };
    const leaf = this.messages.get(conversation.leafId);
    const answered =
      target.role === 'assistant'
        ? conversation.leafId === target.id
          ? target.parentId
          : null
        : conversation.leafId === target.id || (leaf?.role === 'assistant' && leaf.parentId === target.id)
          ? target.id
          : null;
    const userMessage = answered ? this.messages.get(answered) : undefined;
    if (!userMessage) return { conflict: 'not_last_answer' };
    if (this.activeRun(conversation.id)) return { conflict: 'run_active' };
    conversation.leafId = userMessage.id;
    conversation.lastActiveAt = this.clock.now();
    this.keepSummaryOnBranch(conversation.id, userMessage.id);
    const runId = this.insertRunRow(input.userId, conversation.id, userMessage.id, input.model, null);
    return { runId, conversationId: conversation.id, userMessage: toMessage(userMessage), stored: Promise.resolve() };
  }

  async startEdit(input: BranchRunInput & { text: string }): Promise<RunStart | { conflict: BranchConflict }> {
    const target = this.messages.get(input.messageId);
    if (!target || target.userId !== input.userId) return { conflict: 'not_found' };
    if (target.role !== 'user') return { conflict: 'not_user_message' };
    const conversation = this.conversations.get(target.conversationId);
    if (!conversation) return { conflict: 'not_found' };
    if (this.activeRun(conversation.id)) return { conflict: 'run_active' };
    this.keepSummaryOnBranch(conversation.id, target.parentId);
    return this.insertRun(
      conversation,
      { userId: input.userId, conversationId: conversation.id, text: input.text, model: input.model },
      target.parentId,
    );
  }

  async run(userId: string, runId: string): Promise<RunRecord> {
    const row = this.runs.get(runId);
    if (!row || row.userId !== userId) throw notFound('run');
    return toRunRecord(row);
  }

  async finishRun(input: FinishedRun): Promise<Message | null> {
    const { run } = input;
    const row = this.runs.get(run.id);
    if (!row) throw notFound('run');
    const conversation = this.conversations.get(run.conversationId);
    const now = this.clock.now();
    let message: MessageRow | null = null;
    if (input.status === 'completed' || input.text.length > 0) {
      const id = input.messageId ?? randomUUID();
      message = this.writeAnswer(run, id, input.text, input.status === 'completed' ? 'complete' : 'incomplete');
      message.usage = { ...input.usage };
      message.createdAt = now;
    } else if (conversation && conversation.leafId === run.userMessageId) {
      // No answer: a regenerate's branch goes back to the answer it was to replace.
      const previous = this.newestChild(run.userMessageId);
      if (previous) conversation.leafId = previous.id;
    }
    if (conversation) conversation.lastActiveAt = now;
    row.status = input.status;
    row.assistantMessageId = message?.id ?? null;
    row.errorCode = input.error?.code ?? null;
    row.errorMessage = input.error?.message ?? null;
    return message ? toMessage(message) : null;
  }

  async savePartial(run: RunRef, messageId: string, text: string): Promise<void> {
    const existing = this.messages.get(messageId);
    if (existing && existing.status !== 'incomplete') return;
    this.writeAnswer(run, messageId, text, 'incomplete');
  }

  async activeRunIds(userId: string): Promise<string[]> {
    return [...this.runs.values()].filter((run) => run.userId === userId && isActive(run.status)).map((run) => run.id);
  }

  async heartbeat(runIds: readonly string[]): Promise<void> {
    const now = this.clock.now().getTime();
    for (const id of runIds) {
      const run = this.runs.get(id);
      if (run) run.beatAt = now;
    }
  }

  async endedRunsHoldingReservations(staleForMs: number, ownInstance?: string): Promise<string[]> {
    return [...this.runs.values()]
      .filter(
        (run) => !isActive(run.status) && this.reservedRuns.has(run.id) && this.orphaned(run, staleForMs, ownInstance),
      )
      .map((run) => run.id);
  }

  async failOrphanedRuns(staleForMs?: number, ownInstance?: string): Promise<string[]> {
    const failed = [...this.runs.values()].filter(
      (run) => isActive(run.status) && (staleForMs === undefined || this.orphaned(run, staleForMs, ownInstance)),
    );
    for (const run of failed) {
      run.status = 'failed';
      run.errorCode = 'INTERNAL';
      run.errorMessage = 'The server stopped while this run was in progress.';
      run.assistantMessageId =
        [...this.messages.values()].find((row) => row.runId === run.id && row.role === 'assistant')?.id ?? null;
      const conversation = this.conversations.get(run.conversationId);
      const shown = conversation?.leafId ? this.newestChild(conversation.leafId) : null;
      if (conversation && shown) conversation.leafId = shown.id;
    }
    return failed.map((run) => run.id);
  }

  // Internals

  private ownConversation(userId: string, conversationId: string): ConversationRow {
    const row = this.conversations.get(conversationId);
    if (!row || row.userId !== userId) throw notFound('conversation');
    return row;
  }

  private insertConversation(userId: string, title: string | null, model: string | null, isDefault: boolean) {
    const now = this.clock.now();
    const row: ConversationRow = {
      id: randomUUID(),
      userId,
      title,
      model,
      isDefault,
      createdAt: now,
      lastActiveAt: now,
      messageCount: 0,
      leafId: null,
    };
    this.conversations.set(row.id, row);
    return row;
  }

  private activeRun(conversationId: string): RunRow | undefined {
    return [...this.runs.values()].find((run) => run.conversationId === conversationId && isActive(run.status));
  }

  private insertRun(conversation: ConversationRow, input: NewRun, parentId: string | null): RunStart {
    const now = this.clock.now();
    const runId = randomUUID();
    const message: MessageRow = {
      id: randomUUID(),
      userId: input.userId,
      conversationId: conversation.id,
      runId,
      parentId,
      role: 'user',
      content: input.text,
      status: 'complete',
      createdAt: now,
      usage: null,
      seq: ++this.seq,
    };
    this.messages.set(message.id, message);
    conversation.leafId = message.id;
    conversation.messageCount += 1;
    conversation.lastActiveAt = now;
    this.insertRunRow(input.userId, conversation.id, message.id, input.model, input.clientMessageId ?? null, runId);
    return { runId, conversationId: conversation.id, userMessage: toMessage(message), stored: Promise.resolve() };
  }

  private insertRunRow(
    userId: string,
    conversationId: string,
    userMessageId: string,
    model: string,
    clientMessageId: string | null,
    id: string = randomUUID(),
  ): string {
    this.runs.set(id, {
      id,
      userId,
      conversationId,
      userMessageId,
      assistantMessageId: null,
      status: 'running',
      model,
      errorCode: null,
      errorMessage: null,
      clientMessageId,
      beatAt: this.clock.now().getTime(),
      instanceId: this.instanceId,
    });
    return id;
  }

  /** Inserts or replaces the run's answer; it becomes the leaf where the branch still ends at its question. */
  private writeAnswer(run: RunRef, id: string, text: string, status: MessageStatus): MessageRow {
    const existing = this.messages.get(id);
    const row: MessageRow = existing ?? {
      id,
      userId: run.userId,
      conversationId: run.conversationId,
      runId: run.id,
      parentId: run.userMessageId,
      role: 'assistant',
      content: text,
      status,
      createdAt: this.clock.now(),
      usage: null,
      seq: ++this.seq,
    };
    row.content = text;
    row.status = status;
    this.messages.set(id, row);
    const conversation = this.conversations.get(run.conversationId);
    if (conversation) {
      if (!existing) conversation.messageCount += 1;
      if (conversation.leafId === run.userMessageId || conversation.leafId === id) conversation.leafId = id;
    }
    return row;
  }

  /** From `id` up through the parents, newest first, at most `limit` messages. */
  private branchUp(id: string | null, limit: number): MessageRow[] {
    const branch: MessageRow[] = [];
    for (let row = id ? this.messages.get(id) : undefined; row && branch.length < limit; ) {
      branch.push(row);
      row = row.parentId ? this.messages.get(row.parentId) : undefined;
    }
    return branch;
  }

  private versionsOf(row: MessageRow): MessageRow[] {
    return [...this.messages.values()]
      .filter((one) => one.conversationId === row.conversationId && one.parentId === row.parentId)
      .sort((a, b) => a.seq - b.seq);
  }

  private newestChild(id: string): MessageRow | undefined {
    return [...this.messages.values()].filter((row) => row.parentId === id).sort((a, b) => b.seq - a.seq)[0];
  }

  /** A summary written on another branch than the one now shown would bring its messages in: it goes. */
  private keepSummaryOnBranch(conversationId: string, messageId: string | null): void {
    const summary = this.summaries.get(conversationId);
    if (!summary) return;
    const onBranch = this.branchUp(messageId, Number.POSITIVE_INFINITY).some((row) => row.seq === summary.throughSeq);
    if (!onBranch) this.summaries.delete(conversationId);
  }

  private orphaned(run: RunRow, staleForMs: number, ownInstance: string | undefined): boolean {
    return (
      run.beatAt < this.clock.now().getTime() - staleForMs ||
      (ownInstance !== undefined && run.instanceId === ownInstance)
    );
  }
}

function toConversation(row: ConversationRow): Conversation {
  const { id, title, model, createdAt, lastActiveAt, messageCount } = row;
  return { id, title, model, createdAt, lastActiveAt, messageCount };
}

function toMessage(row: MessageRow): Message {
  const { id, conversationId, parentId, role, content, status, createdAt, usage } = row;
  return { id, conversationId, parentId, role, content, status, createdAt, usage: usage ? { ...usage } : null };
}

function toRunRecord(row: RunRow): RunRecord {
  const { id, userId, conversationId, userMessageId, assistantMessageId, status, model, errorCode, errorMessage } = row;
  return { id, userId, conversationId, userMessageId, assistantMessageId, status, model, errorCode, errorMessage };
}
