import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/database';
import { migrateStore } from '../../store/migrate';
import { conversations, users } from '../../store/schema';
import { TestClock, testDatabases } from '../../testing';
import { SupabaseUsers } from './supabase-users';

describe.each(testDatabases())('SupabaseUsers on $name', ({ location }) => {
  let store: Store;
  const clock = new TestClock();

  beforeAll(async () => {
    store = await openStore(location);
    await migrateStore(store, location);
  });
  afterAll(() => store?.close());

  const email = () => `supabase-${randomUUID()}@example.com`;
  const row = async (id: string) => (await store.db.select().from(users).where(eq(users.id, id)))[0];

  it('creates the row with Supabase’s id, and keeps its display name once Hearth owns it', async () => {
    const synced = new SupabaseUsers(store.db, clock);
    const id = randomUUID();
    const address = email();
    expect(await synced.sync({ id, email: ` ${address.toUpperCase()}`, displayName: 'Ada' })).toMatchObject({
      id,
      email: address,
      displayName: 'Ada',
      role: 'user',
    });
    expect((await synced.sync({ id, email: address, displayName: 'Someone else' })).displayName).toBe('Ada');
  });

  it('takes the email Supabase now has for the user', async () => {
    const synced = new SupabaseUsers(store.db, clock);
    const id = randomUUID();
    await synced.sync({ id, email: email(), displayName: null });
    const changed = email();
    expect((await synced.resolve({ id, email: changed, displayName: null })).email).toBe(changed);
    expect((await row(id))?.email).toBe(changed);
  });

  it('lets a new Supabase user have an email an old row still holds, keeping that row’s data', async () => {
    const synced = new SupabaseUsers(store.db, clock);
    const address = email();
    const old = await synced.sync({ id: randomUUID(), email: address, displayName: null });
    await store.db.insert(conversations).values({ id: randomUUID(), userId: old.id, title: 'kept' });
    const fresh = await synced.sync({ id: randomUUID(), email: address, displayName: null });
    expect(fresh.email).toBe(address);
    expect((await row(old.id))?.email).toBe(`${old.id}@superseded.invalid`);
    expect(await store.db.select().from(conversations).where(eq(conversations.userId, old.id))).toHaveLength(1);
  });

  it('answers a known user from memory until the recheck is due', async () => {
    const synced = new SupabaseUsers(store.db, clock);
    const id = randomUUID();
    const address = email();
    await synced.sync({ id, email: address, displayName: null });
    await store.db.update(users).set({ role: 'admin' }).where(eq(users.id, id));
    expect((await synced.resolve({ id, email: address, displayName: null })).role).toBe('user');
    clock.advance(60_000);
    expect((await synced.resolve({ id, email: address, displayName: null })).role).toBe('admin');
  });
});
