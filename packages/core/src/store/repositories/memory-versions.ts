import { randomUUID } from 'node:crypto';
import { and, desc, eq, lt } from 'drizzle-orm';
import { z } from 'zod';
import type { MemoryVersion } from '../../domain/chat';
import type { MemoryVersionRepository, MemoryVersionWriter, NewVersion } from '../../ports/memory-version-repository';
import { decodeCursor, encodeCursor, invalidCursor } from '../cursor';
import type { Database } from '../database';
import { memoryVersions, users } from '../schema';

/** Where the next page of a memory history starts: before this seq, for this label filter. */
const historyCursor = z.strictObject({ s: z.int().min(1), l: z.string().nullable() });

function toVersion(row: typeof memoryVersions.$inferSelect): MemoryVersion {
  return {
    id: row.id,
    label: row.label,
    value: row.value,
    previousValue: row.previousValue,
    updatedBy: row.author,
    runId: row.runId,
    messageId: row.messageId,
    createdAt: row.createdAt,
  };
}

/** Every change of every memory block, per user, for both agent backends, on Drizzle. */
export class DrizzleMemoryVersions implements MemoryVersionRepository {
  constructor(private readonly db: Database) {}

  /** Appends a version; `db` is the transaction the change itself is written in, when there is one. */
  async record(version: NewVersion, db: Database = this.db): Promise<MemoryVersion> {
    const { author } = version;
    const [row] = await db
      .insert(memoryVersions)
      .values({
        id: randomUUID(),
        userId: version.userId,
        label: version.label,
        value: version.value,
        previousValue: version.previousValue,
        author: author.by,
        runId: author.by === 'agent' ? author.runId : null,
        messageId: author.by === 'agent' ? author.messageId : null,
        createdAt: version.at,
      })
      .returning();
    if (!row) throw new Error('a memory version was not written');
    return toVersion(row);
  }

  /** The newest version of each of the user's blocks, by label. */
  async latest(userId: string, db: Database = this.db): Promise<Map<string, MemoryVersion>> {
    const rows = await db
      .selectDistinctOn([memoryVersions.label])
      .from(memoryVersions)
      .where(eq(memoryVersions.userId, userId))
      .orderBy(memoryVersions.label, desc(memoryVersions.seq));
    return new Map(rows.map((row) => [row.label, toVersion(row)]));
  }

  /**
   * Runs `fn` in a transaction that holds the user's row, so two processes reconciling one user's
   * blocks with what they read from an upstream (Letta) cannot both record the same change.
   */
  serialized<T>(userId: string, fn: (versions: MemoryVersionWriter) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('no key update');
      return fn({ record: (version) => this.record(version, tx), latest: (id) => this.latest(id, tx) });
    });
  }

  async find(userId: string, versionId: string): Promise<MemoryVersion | null> {
    const [row] = await this.db
      .select()
      .from(memoryVersions)
      .where(and(eq(memoryVersions.userId, userId), eq(memoryVersions.id, versionId)));
    return row ? toVersion(row) : null;
  }

  /** Newest first; a cursor only continues the list it came from (the same label filter). */
  async page(
    userId: string,
    input: { label?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ versions: MemoryVersion[]; nextCursor: string | null }> {
    const label = input.label ?? null;
    const before = input.cursor ? decodeCursor(historyCursor, input.cursor) : undefined;
    if (before && before.l !== label) throw invalidCursor();
    const rows = await this.db
      .select()
      .from(memoryVersions)
      .where(
        and(
          eq(memoryVersions.userId, userId),
          label === null ? undefined : eq(memoryVersions.label, label),
          before ? lt(memoryVersions.seq, before.s) : undefined,
        ),
      )
      .orderBy(desc(memoryVersions.seq))
      .limit(input.limit + 1);
    const page = rows.slice(0, input.limit);
    const last = page.at(-1);
    return {
      versions: page.map(toVersion),
      nextCursor: rows.length > input.limit && last ? encodeCursor({ s: last.seq, l: label }) : null,
    };
  }
}
