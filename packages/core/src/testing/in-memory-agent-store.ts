import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ArchivalPassage, MemoryBlock, MemoryVersion } from '../domain/chat';
import { DEFAULT_BLOCKS } from '../domain/default-blocks';
import { AppError } from '../domain/errors';
import type { AgentRecord, AgentRepository, SearchHit, WrittenBlock } from '../ports/agent-repository';
import { type Clock, systemClock } from '../ports/clock';
import type {
  MemoryAuthor,
  MemoryVersionRepository,
  MemoryVersionWriter,
  NewVersion,
} from '../ports/memory-version-repository';
import { decodeCursor, encodeCursor, invalidCursor } from '../store/cursor';

// The same cursor shapes as the Drizzle adapters, so a cursor one hands out reads the same in the other.
const historyCursor = z.strictObject({ s: z.int().min(1), l: z.string().nullable() });
const archivalCursor = z.strictObject({ at: z.iso.datetime(), id: z.uuid(), q: z.string().nullable() });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface StoredVersion {
  seq: number;
  userId: string;
  version: MemoryVersion;
}

const copyVersion = (version: MemoryVersion): MemoryVersion => ({ ...version });

/** DrizzleMemoryVersions without a database: every user's versions in one list, in the order written. */
export class InMemoryMemoryVersions implements MemoryVersionRepository {
  private readonly rows: StoredVersion[] = [];
  /** Per user, the tail of the serialized sections queued: the row lock the Drizzle adapter takes. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Shared by all users, as the table's sequence is, so seq order is write order across users too. */
  private seq = 0;

  async record(version: NewVersion): Promise<MemoryVersion> {
    const { author } = version;
    const stored: MemoryVersion = {
      id: randomUUID(),
      label: version.label,
      value: version.value,
      previousValue: version.previousValue,
      updatedBy: author.by,
      runId: author.by === 'agent' ? author.runId : null,
      messageId: author.by === 'agent' ? author.messageId : null,
      createdAt: new Date(version.at),
    };
    this.seq += 1;
    this.rows.push({ seq: this.seq, userId: version.userId, version: stored });
    return copyVersion(stored);
  }

  async latest(userId: string): Promise<Map<string, MemoryVersion>> {
    const latest = new Map<string, MemoryVersion>();
    for (const row of this.rows) if (row.userId === userId) latest.set(row.version.label, copyVersion(row.version));
    return latest;
  }

  /**
   * Like the Drizzle adapter, only other serialized sections of the user wait: a plain `record`
   * does not take the user's lock there either.
   */
  serialized<T>(userId: string, fn: (versions: MemoryVersionWriter) => Promise<T>): Promise<T> {
    const previous = this.queues.get(userId) ?? Promise.resolve();
    const writer: MemoryVersionWriter = { record: (v) => this.record(v), latest: (id) => this.latest(id) };
    const result = previous.then(() => fn(writer));
    const tail = result.catch(() => {});
    this.queues.set(userId, tail);
    void tail.then(() => {
      if (this.queues.get(userId) === tail) this.queues.delete(userId);
    });
    return result;
  }

  async find(userId: string, versionId: string): Promise<MemoryVersion | null> {
    const row = this.rows.find((r) => r.userId === userId && r.version.id === versionId);
    return row ? copyVersion(row.version) : null;
  }

  async page(
    userId: string,
    input: { label?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ versions: MemoryVersion[]; nextCursor: string | null }> {
    const label = input.label ?? null;
    const before = input.cursor ? decodeCursor(historyCursor, input.cursor) : undefined;
    if (before && before.l !== label) throw invalidCursor();
    const rows = this.rows
      .filter(
        (r) =>
          r.userId === userId &&
          (label === null || r.version.label === label) &&
          (before === undefined || r.seq < before.s),
      )
      .reverse()
      .slice(0, input.limit + 1);
    const page = rows.slice(0, input.limit);
    const last = page.at(-1);
    return {
      versions: page.map((r) => copyVersion(r.version)),
      nextCursor: rows.length > input.limit && last ? encodeCursor({ s: last.seq, l: label }) : null,
    };
  }

  /** Forgets the user's versions, as deleting the user's row cascades to them. */
  deleteUser(userId: string): void {
    for (let i = this.rows.length - 1; i >= 0; i -= 1) if (this.rows[i]?.userId === userId) this.rows.splice(i, 1);
  }
}

interface StoredMessage {
  userId: string;
  role: 'user' | 'assistant';
  content: string;
  createdAt: Date;
}

interface StoredPassage extends ArchivalPassage {
  agentId: string;
}

/** Lower-cased words, as the `simple` text-search configuration splits them (near enough for tests). */
const wordsOf = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/**
 * How well `text` matches every word of `query`: the occurrences of the query's words, or 0 when one
 * is missing. Stands in for `websearch_to_tsquery` + `ts_rank` (all words required, more hits first),
 * without its phrases, `or` and negation.
 */
function matchScore(text: string, query: string): number {
  const wanted = [...new Set(wordsOf(query))];
  if (wanted.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const word of wordsOf(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  let score = 0;
  for (const word of wanted) {
    const count = counts.get(word) ?? 0;
    if (count === 0) return 0;
    score += count;
  }
  return score;
}

/**
 * DrizzleAgentStore without a database, for unit tests of the built-in runtime and what is built on
 * it: the same creation with the default blocks (and their first versions), the same block limits
 * and errors, the same cursors. Every write happens in one synchronous step, which is what the
 * Drizzle adapter's row locks give concurrent writers. Messages for conversation_search come from
 * `addMessage`, since the messages themselves live in the chat store.
 */
export class InMemoryAgentStore implements AgentRepository {
  private readonly agents = new Map<string, AgentRecord>();
  private readonly blocksByAgent = new Map<string, MemoryBlock[]>();
  private readonly passages: StoredPassage[] = [];
  private readonly messages: StoredMessage[] = [];

  constructor(
    private readonly clock: Clock = systemClock,
    readonly versions: InMemoryMemoryVersions = new InMemoryMemoryVersions(),
  ) {}

  async find(userId: string): Promise<AgentRecord | null> {
    const agent = this.agents.get(userId);
    return agent ? { ...agent } : null;
  }

  async ensure(userId: string, model: string): Promise<AgentRecord> {
    const existing = this.agents.get(userId);
    if (existing) return { ...existing };
    const now = this.clock.now();
    const agent: AgentRecord = { id: randomUUID(), userId, model, createdAt: now, lastActiveAt: now };
    this.agents.set(userId, agent);
    this.blocksByAgent.set(
      agent.id,
      DEFAULT_BLOCKS.map((block) => ({
        label: block.label,
        value: block.value,
        limit: block.limit,
        description: block.description,
        updatedAt: now,
        updatedBy: 'system' as const,
      })).sort((a, b) => a.label.localeCompare(b.label)),
    );
    // Recorded in the same synchronous step as the agent, so no caller sees an agent without its first versions.
    await Promise.all(
      DEFAULT_BLOCKS.map((block) =>
        this.versions.record({
          userId,
          label: block.label,
          value: block.value,
          previousValue: null,
          author: { by: 'system' },
          at: now,
        }),
      ),
    );
    return { ...agent };
  }

  /**
   * The Drizzle adapter only drops its cache here: the rows go with the user's. Nothing else holds
   * this adapter's rows, so they go here.
   */
  forget(userId: string): void {
    const agent = this.agents.get(userId);
    this.agents.delete(userId);
    this.versions.deleteUser(userId);
    for (let i = this.messages.length - 1; i >= 0; i -= 1) {
      if (this.messages[i]?.userId === userId) this.messages.splice(i, 1);
    }
    if (!agent) return;
    this.blocksByAgent.delete(agent.id);
    this.dropPassages(agent.id);
  }

  async blocks(agentId: string): Promise<MemoryBlock[]> {
    return (this.blocksByAgent.get(agentId) ?? []).map((block) => ({ ...block }));
  }

  async writeBlock(agent: AgentRecord, label: string, value: string, author: MemoryAuthor): Promise<WrittenBlock> {
    const blocks = this.blocksByAgent.get(agent.id) ?? [];
    const current = blocks.find((block) => block.label === label);
    if (!current) throw new AppError('NOT_FOUND', `There is no memory block "${label}".`);
    if (value.length > current.limit) {
      throw new AppError(
        'MEMORY_LIMIT',
        `The "${label}" block holds at most ${current.limit} characters; this value has ${value.length}.`,
        { fieldErrors: { value: [`At most ${current.limit} characters.`] } },
      );
    }
    const at = this.clock.now();
    const previousValue = current.value;
    current.value = value;
    current.updatedAt = at;
    current.updatedBy = author.by;
    // Recorded before the first await, so no other write can come between the block and its version.
    const version = this.versions.record({ userId: agent.userId, label, value, previousValue, author, at });
    return { block: { ...current }, version: await version };
  }

  async resetBlocks(agent: AgentRecord): Promise<void> {
    const blocks = this.blocksByAgent.get(agent.id) ?? [];
    const at = this.clock.now();
    const recorded: Array<Promise<MemoryVersion>> = [];
    for (const template of DEFAULT_BLOCKS) {
      const current = blocks.find((block) => block.label === template.label);
      if (!current) continue;
      const previousValue = current.value;
      // As in the Drizzle adapter: value and limit go back, the description stays.
      current.value = template.value;
      current.limit = template.limit;
      current.updatedAt = at;
      current.updatedBy = 'system';
      if (previousValue !== template.value) {
        recorded.push(
          this.versions.record({
            userId: agent.userId,
            label: template.label,
            value: template.value,
            previousValue,
            author: { by: 'system' },
            at,
          }),
        );
      }
    }
    this.dropPassages(agent.id);
    await Promise.all(recorded);
  }

  /** A message the user exchanged with the agent, for conversation_search to find. */
  addMessage(userId: string, message: { role: 'user' | 'assistant'; content: string; createdAt?: Date }): void {
    this.messages.push({
      userId,
      role: message.role,
      content: message.content,
      createdAt: message.createdAt ?? this.clock.now(),
    });
  }

  async searchMessages(userId: string, query: string, roles: readonly string[], limit: number): Promise<SearchHit[]> {
    return (
      this.messages
        .map((message, order) => ({ message, order, score: matchScore(message.content, query) }))
        .filter(
          ({ message, score }) =>
            score > 0 && message.userId === userId && (roles.length === 0 || roles.includes(message.role)),
        )
        // Best match first, then the newest, as the Drizzle adapter orders by rank and seq.
        .sort((a, b) => b.score - a.score || b.order - a.order)
        .slice(0, limit)
        .map(({ message }) => ({ role: message.role, content: message.content, createdAt: message.createdAt }))
    );
  }

  async insertPassage(agentId: string, content: string, tags: string[]): Promise<string> {
    const id = randomUUID();
    this.passages.push({ id, agentId, content, tags: [...tags], createdAt: this.clock.now() });
    return id;
  }

  async searchPassages(
    agentId: string,
    query: string,
    tags: string[],
    limit: number,
  ): Promise<Array<{ id: string; content: string; tags: string[] }>> {
    return this.passages
      .map((passage) => ({ passage, score: matchScore(passage.content, query) }))
      .filter(
        ({ passage, score }) =>
          score > 0 && passage.agentId === agentId && tags.every((tag) => passage.tags.includes(tag)),
      )
      .sort((a, b) => b.score - a.score)
      .slice(0, limit)
      .map(({ passage }) => ({ id: passage.id, content: passage.content, tags: [...passage.tags] }));
  }

  async listPassages(
    agentId: string,
    input: { query?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ passages: ArchivalPassage[]; nextCursor: string | null }> {
    const query = input.query ?? null;
    const before = input.cursor ? decodeCursor(archivalCursor, input.cursor) : undefined;
    if (before && before.q !== query) throw invalidCursor();
    const at = before ? new Date(before.at).getTime() : null;
    const needle = query?.toLowerCase();
    const rows = this.passages
      .filter(
        (p) =>
          p.agentId === agentId &&
          (needle === undefined || p.content.toLowerCase().includes(needle)) &&
          (before === undefined ||
            at === null ||
            p.createdAt.getTime() < at ||
            (p.createdAt.getTime() === at && p.id < before.id)),
      )
      // Newest first, ties by id, descending: the order the cursor continues.
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, input.limit + 1);
    const page = rows.slice(0, input.limit);
    const last = page.at(-1);
    return {
      passages: page.map(({ id, content, tags, createdAt }) => ({ id, content, tags: [...tags], createdAt })),
      nextCursor:
        rows.length > input.limit && last
          ? encodeCursor({ at: last.createdAt.toISOString(), id: last.id, q: query })
          : null,
    };
  }

  async deletePassage(agentId: string, passageId: string): Promise<boolean> {
    if (!UUID.test(passageId)) return false;
    const index = this.passages.findIndex((p) => p.agentId === agentId && p.id === passageId);
    if (index < 0) return false;
    this.passages.splice(index, 1);
    return true;
  }

  private dropPassages(agentId: string): void {
    for (let i = this.passages.length - 1; i >= 0; i -= 1) {
      if (this.passages[i]?.agentId === agentId) this.passages.splice(i, 1);
    }
  }
}
