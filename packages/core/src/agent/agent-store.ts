import { randomUUID } from 'node:crypto';
import { and, arrayContains, desc, eq, inArray, sql } from 'drizzle-orm';
import type { MemoryBlock } from '../domain/chat';
import { AppError } from '../domain/errors';
import type { Clock } from '../ports/clock';
import type { Database } from '../store/database';
import { agents, archivalPassages, memoryBlocks, messages } from '../store/schema';
import { DEFAULT_BLOCKS } from './default-blocks';

export interface AgentRecord {
  id: string;
  userId: string;
  model: string;
  createdAt: Date;
  lastActiveAt: Date;
}

export interface SearchHit {
  role: 'user' | 'assistant';
  content: string;
  createdAt: Date;
}

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

/** The built-in runtime's agents, their core memory and their archival memory. */
export class AgentStore {
  /** Agents are never replaced while their user exists, so once found an agent's id can be reused. */
  private readonly known = new Map<string, AgentRecord>();
  /** Core memory by agent, kept only when this process is the store's one writer (see `soleWriter`). */
  private readonly blockCache = new Map<string, MemoryBlock[]>();
  /** Bumped before and after every write, so a read that overlapped a write does not cache what it read. */
  private blockWrites = 0;

  /**
   * `soleWriter`: no other process writes this store (the embedded PGlite, owned by one process),
   * so the blocks read at the start of every turn can come from memory. With a shared PostgreSQL
   * another process may edit them, and they are read from the database each time.
   */
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly soleWriter = false,
  ) {}

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
      await tx.insert(memoryBlocks).values(
        DEFAULT_BLOCKS.map((block) => ({
          agentId: id,
          label: block.label,
          value: block.value,
          charLimit: block.limit,
          description: block.description,
          updatedBy: 'system' as const,
        })),
      );
    });
    const created = await this.find(userId);
    if (!created) throw new Error('agent vanished right after creation');
    this.known.set(userId, created);
    return created;
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

  /** Replaces a block's value; MEMORY_LIMIT if it would pass the block's limit, NOT_FOUND for an unknown label. */
  async writeBlock(agentId: string, label: string, value: string, by: MemoryBlock['updatedBy']): Promise<MemoryBlock> {
    this.blockWrites += 1;
    const [row] = await this.db
      .update(memoryBlocks)
      .set({ value, updatedAt: this.clock.now(), updatedBy: by })
      .where(
        and(
          eq(memoryBlocks.agentId, agentId),
          eq(memoryBlocks.label, label),
          sql`char_length(${value}) <= ${memoryBlocks.charLimit}`,
        ),
      )
      .returning();
    this.blockWrites += 1;
    if (row) {
      const written = toBlock(row);
      const cached = this.blockCache.get(agentId);
      if (cached)
        this.blockCache.set(
          agentId,
          cached.map((block) => (block.label === label ? written : block)),
        );
      return written;
    }
    const [block] = await this.db
      .select()
      .from(memoryBlocks)
      .where(and(eq(memoryBlocks.agentId, agentId), eq(memoryBlocks.label, label)));
    if (!block) throw new AppError('NOT_FOUND', `There is no memory block "${label}".`);
    throw new AppError(
      'MEMORY_LIMIT',
      `The "${label}" block holds at most ${block.charLimit} characters; this value has ${value.length}.`,
      { fieldErrors: { value: [`At most ${block.charLimit} characters.`] } },
    );
  }

  async resetBlocks(agentId: string): Promise<void> {
    this.blockWrites += 1;
    this.blockCache.delete(agentId);
    await this.db.transaction(async (tx) => {
      for (const block of DEFAULT_BLOCKS) {
        await tx
          .update(memoryBlocks)
          .set({ value: block.value, charLimit: block.limit, updatedAt: this.clock.now(), updatedBy: 'system' })
          .where(and(eq(memoryBlocks.agentId, agentId), eq(memoryBlocks.label, block.label)));
      }
      await tx.delete(archivalPassages).where(eq(archivalPassages.agentId, agentId));
    });
    // Again after the write: a read that started during it may have seen the old values.
    this.blockWrites += 1;
    this.blockCache.delete(agentId);
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
}
