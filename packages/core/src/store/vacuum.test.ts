import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthStore } from '../auth/builtin/auth-store';
import { systemClock } from '../ports/clock';
import { openStore, queryRows, type Store } from './database';
import { migrateStore } from './migrate';
import { DrizzleChatStore } from './repositories/chat-store';

describe('vacuuming the embedded store', () => {
  let store: Store;
  let conversationId: string;

  const tableBytes = async () => {
    const [row] = await queryRows<{ bytes: number }>(
      store.db,
      sql`select pg_relation_size('conversations')::float8 as bytes`,
    );
    return Number(row?.bytes);
  };
  let clock = Date.UTC(2026, 0, 1);
  /** What every run does to its conversation: new counters and a later activity time, an indexed column. */
  const runs = async (count: number) => {
    for (let i = 0; i < count; i += 1) {
      clock += 1_000;
      await store.db.execute(
        sql`update conversations set message_count = message_count + 2,
                   last_active_at = ${new Date(clock).toISOString()}::timestamptz
            where id = ${conversationId}::uuid`,
      );
    }
  };

  beforeAll(async () => {
    const location = { kind: 'pglite-memory' } as const;
    store = await openStore(location);
    await migrateStore(store, location);
    const user = await new AuthStore(store.db).createUser({
      email: `vacuum-${crypto.randomUUID()}@example.com`,
      passwordHash: 'h',
      displayName: null,
    });
    conversationId = (await new DrizzleChatStore(store.db, systemClock).createConversation(user?.id ?? '', null)).id;
  });
  afterAll(() => store?.close());

  it('lets a conversation rewritten on every run reuse its space instead of growing for good', async () => {
    const empty = await tableBytes();
    await runs(1_000);
    const grown = await tableBytes();
    // PGlite has no autovacuum: each rewrite of the one row kept a slot, page after page.
    expect(grown).toBeGreaterThan(2 * empty);

    await store.vacuum();
    await runs(1_000);
    expect(await tableBytes()).toBeLessThanOrEqual(grown);
    const [row] = await queryRows<{ message_count: number }>(
      store.db,
      sql`select message_count from conversations where id = ${conversationId}::uuid`,
    );
    expect(row?.message_count).toBe(4_000);
  });
});
