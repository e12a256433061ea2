import { randomUUID } from 'node:crypto';
import { and, arrayContains, desc, eq, ilike, inArray, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { ArchivalPassage, MemoryBlock } from '../../domain/chat';
import { DEFAULT_BLOCKS } from '../../domain/default-blocks';
import { AppError } from '../../domain/errors';
import type { AgentRecord, AgentRepository, SearchHit, WrittenBlock } from '../../ports/agent-repository';
import type { Clock } from '../../ports/clock';
import type { MemoryAuthor } from '../../ports/memory-version-repository';
import { decodeCursor, encodeCursor, invalidCursor } from '../cursor';
import type { Database } from '../database';
import { agents, archivalPassages, memoryBlocks, messages } from '../schema';
import { DrizzleMemoryVersions } from './memory-versions';

function toBlock(row: typeof memoryBlocks.$inferSelect): MemoryBlock {
  return {
    label: row.label,
    value: row.value,
    limit: row.charLimit,
    description: row.description,
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
  };
}

const MAX_CACHED_AGENTS = 10_000;

/** Where the next page of archival memory starts: before this passage's time and id. */
const archivalCursor = z.strictObject({ at: z.iso.datetime(), id: z.uuid(), q: z.string().nullable() });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The built-in runtime's agents, their core memory and their archival memory, on Drizzle. */
export class DrizzleAgentStore implements AgentRepository {
  /** Agents are never replaced while their user exists, so once found an agent's id can be reused. */
  private readonly known = new Map<string, AgentRecord>();
  /** Core memory by agent, kept only when this process is the store's one writer (see `soleWriter`). */
  private readonly blockCache = new Map<string, MemoryBlock[]>();
  /** Bumped before and after every write, so a read that overlapped a write does not cache what it read. */
  private blockWrites = 0;
  readonly versions: DrizzleMemoryVersions;

  /**
   * `soleWriter`: no other process writes this store (the embedded PGlite, owned by one process),
   * so the blocks read at the start of every turn can come from memory. With a shared PostgreSQL
   * another process may edit them, and they are read from the database each time.
   */
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly soleWriter = false,
  ) {
    this.versions = new DrizzleMemoryVersions(db);
  }

  async find(userId: string): Promise<AgentRecord | null> {
    const [row] = await this.db.select().from(agents).where(eq(agents.userId, userId)).limit(1);
    return row ?? null;
  }

  /** The user's agent, created with the default blocks on first use (safe under concurrent calls). */
  async ensure(userId: string, model: string): Promise<AgentRecord> {
    const cached = this.known.get(userId);
    if (cached) return cached;
    const existing = await this.find(userId);
    if (existing) {
      this.known.set(userId, existing);
      return existing;
    }
    const id = randomUUID();
    await this.db.transaction(async (tx) => {
      const inserted = await tx
        .insert(agents)
        .values({ id, userId, model })
        .onConflictDoNothing({ target: agents.userId })
        .returning({ id: agents.id });
      if (inserted.length === 0) return;
      const now = this.clock.now();
      await tx.insert(memoryBlocks).values(
        DEFAULT_BLOCKS.map((block) => ({
          agentId: id,
          label: block.label,
          value: block.value,
          charLimit: block.limit,
          description: block.description,
          updatedAt: now,
          updatedBy: 'system' as const,
        })),
      );
      for (const block of DEFAULT_BLOCKS) {
        await this.versions.record(
          { userId, label: block.label, value: block.value, previousValue: null, author: { by: 'system' }, at: now },
          tx,
        );
      }
    });
    const created = await this.find(userId);
    if (!created) throw new Error('agent vanished right after creation');
    this.known.set(userId, created);
    return created;
  }

  /** Drops what is kept in memory of the user's agent, whose rows are being deleted. */
  forget(userId: string): void {
    const agent = this.known.get(userId);
    this.known.delete(userId);
    if (agent) this.blockCache.delete(agent.id);
  }

  async blocks(agentId: string): Promise<MemoryBlock[]> {
    const cached = this.blockCache.get(agentId);
    if (cached) return cached;
    const writesBefore = this.blockWrites;
    const rows = await this.db
      .select()
      .from(memoryBlocks)
      .where(eq(memoryBlocks.agentId, agentId))
      .orderBy(memoryBlocks.label);
    const blocks = rows.map(toBlock);
    if (this.soleWriter && writesBefore === this.blockWrites) {
      if (this.blockCache.size >= MAX_CACHED_AGENTS) this.blockCache.clear();
      this.blockCache.set(agentId, blocks);
    }
    return blocks;
  }

  /**
   * Replaces a block's value and records the change as a version, in one transaction that holds the
   * block's row: concurrent writers (the agent and the user) each see the value they replace.
   * MEMORY_LIMIT if the value would pass the block's limit, NOT_FOUND for an unknown label.
   */
  async writeBlock(agent: AgentRecord, label: string, value: string, author: MemoryAuthor): Promise<WrittenBlock> {
    this.blockWrites += 1;
    try {
      const written = await this.db.transaction(async (tx) => {
        const [current] = await tx
          .select()
          .from(memoryBlocks)
          .where(and(eq(memoryBlocks.agentId, agent.id), eq(memoryBlocks.label, label)))
          .for('update');
        if (!current) throw new AppError('NOT_FOUND', `There is no memory block "${label}".`);
        if (value.length > current.charLimit) {
          throw new AppError(
            'MEMORY_LIMIT',
            `The "${label}" block holds at most ${current.charLimit} characters; this value has ${value.length}.`,
            { fieldErrors: { value: [`At most ${current.charLimit} characters.`] } },
          );
        }
        const at = this.clock.now();
        const [row] = await tx
          .update(memoryBlocks)
          .set({ value, updatedAt: at, updatedBy: author.by })
          .where(and(eq(memoryBlocks.agentId, agent.id), eq(memoryBlocks.label, label)))
          .returning();
        if (!row) throw new Error('a locked memory block vanished');
        const version = await this.versions.record(
          { userId: agent.userId, label, value, previousValue: current.value, author, at },
          tx,
        );
        return { block: toBlock(row), version };
      });
      const cached = this.blockCache.get(agent.id);
      if (cached) {
        this.blockCache.set(
          agent.id,
          cached.map((block) => (block.label === label ? written.block : block)),
        );
      }
      return written;
    } finally {
      this.blockWrites += 1;
    }
  }

  /** Puts the default blocks back (a `system` version for each that changes) and empties archival memory. */
  async resetBlocks(agent: AgentRecord): Promise<void> {
    this.blockWrites += 1;
    this.blockCache.delete(agent.id);
    await this.db.transaction(async (tx) => {
      const at = this.clock.now();
      for (const block of DEFAULT_BLOCKS) {
        const [current] = await tx
          .select({ value: memoryBlocks.value })
          .from(memoryBlocks)
          .where(and(eq(memoryBlocks.agentId, agent.id), eq(memoryBlocks.label, block.label)))
          .for('update');
        await tx
          .update(memoryBlocks)
          .set({ value: block.value, charLimit: block.limit, updatedAt: at, updatedBy: 'system' })
          .where(and(eq(memoryBlocks.agentId, agent.id), eq(memoryBlocks.label, block.label)));
        if (current && current.value !== block.value) {
          await this.versions.record(
            {
              userId: agent.userId,
              label: block.label,
              value: block.value,
              previousValue: current.value,
              author: { by: 'system' },
              at,
            },
            tx,
          );
        }
      }
      await tx.delete(archivalPassages).where(eq(archivalPassages.agentId, agent.id));
    });
    // Again after the write: a read that started during it may have seen the old values.
    this.blockWrites += 1;
    this.blockCache.delete(agent.id);
  }

  /** Full-text search over every message the user exchanged with the agent, newest first. */
  async searchMessages(userId: string, query: string, roles: readonly string[], limit: number): Promise<SearchHit[]> {
    const tsQuery = sql`websearch_to_tsquery('simple', ${query})`;
    const rows = await this.db
      .select({ role: messages.role, content: messages.content, createdAt: messages.createdAt })
      .from(messages)
      .where(
        and(
          eq(messages.userId, userId),
          sql`${messages.search} @@ ${tsQuery}`,
          roles.length ? inArray(messages.role, roles as Array<'user' | 'assistant'>) : undefined,
        ),
      )
      .orderBy(desc(sql`ts_rank(${messages.search}, ${tsQuery})`), desc(messages.seq))
      .limit(limit);
    return rows;
  }

  async insertPassage(agentId: string, content: string, tags: string[]): Promise<string> {
    const id = randomUUID();
    await this.db.insert(archivalPassages).values({ id, agentId, content, tags });
    return id;
  }

  async searchPassages(agentId: string, query: string, tags: string[], limit: number) {
    const tsQuery = sql`websearch_to_tsquery('simple', ${query})`;
    return this.db
      .select({ id: archivalPassages.id, content: archivalPassages.content, tags: archivalPassages.tags })
      .from(archivalPassages)
      .where(
        and(
          eq(archivalPassages.agentId, agentId),
          sql`${archivalPassages.search} @@ ${tsQuery}`,
          tags.length ? arrayContains(archivalPassages.tags, tags) : undefined,
        ),
      )
      .orderBy(desc(sql`ts_rank(${archivalPassages.search}, ${tsQuery})`))
      .limit(limit);
  }

  /** Newest first; `query` matches the text anywhere, as Letta's list does. */
  async listPassages(
    agentId: string,
    input: { query?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ passages: ArchivalPassage[]; nextCursor: string | null }> {
    const query = input.query ?? null;
    const before = input.cursor ? decodeCursor(archivalCursor, input.cursor) : undefined;
    if (before && before.q !== query) throw invalidCursor();
    const at = before ? new Date(before.at) : null;
    const rows = await this.db
      .select({
        id: archivalPassages.id,
        content: archivalPassages.content,
        tags: archivalPassages.tags,
        createdAt: archivalPassages.createdAt,
      })
      .from(archivalPassages)
      .where(
        and(
          eq(archivalPassages.agentId, agentId),
          query === null ? undefined : ilike(archivalPassages.content, `%${query.replace(/[\\%_]/g, '\\$&')}%`),
          before && at
            ? or(
                lt(archivalPassages.createdAt, at),
                and(eq(archivalPassages.createdAt, at), lt(archivalPassages.id, before.id)),
              )
            : undefined,
        ),
      )
      .orderBy(desc(archivalPassages.createdAt), desc(archivalPassages.id))
      .limit(input.limit + 1);
    const page = rows.slice(0, input.limit);
    const last = page.at(-1);
    return {
      passages: page,
      nextCursor:
        rows.length > input.limit && last
          ? encodeCursor({ at: last.createdAt.toISOString(), id: last.id, q: query })
          : null,
    };
  }

  /** Whether the passage was this agent's and is now gone. */
  async deletePassage(agentId: string, passageId: string): Promise<boolean> {
    if (!UUID.test(passageId)) return false;
    const deleted = await this.db
      .delete(archivalPassages)
      .where(and(eq(archivalPassages.agentId, agentId), eq(archivalPassages.id, passageId)))
      .returning({ id: archivalPassages.id });
    return deleted.length > 0;
  }
}
