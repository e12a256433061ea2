import { type SQL, sql, TransactionRollbackError } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../testing';
import * as attachmentSchema from './attachment-schema';
import { type Database, openStore, queryRows, type Store } from './database';
import { migrateStore } from './migrate';
import * as schema from './schema';

/**
 * Every table holding user data, the column that tells its rows apart, and whether its owner may read
 * it through PostgREST. The catalog test fails when a table is missing here, so a new one gets decided.
 */
const TABLES = {
  users: { key: 'id', readable: true },
  credentials: { key: 'user_id', readable: false },
  sessions: { key: 'id', readable: false },
  refresh_tokens: { key: 'token_hash', readable: false },
  agents: { key: 'id', readable: true },
  memory_blocks: { key: 'agent_id', readable: true },
  memory_versions: { key: 'id', readable: true },
  conversations: { key: 'id', readable: true },
  messages: { key: 'id', readable: true },
  runs: { key: 'id', readable: true },
  archival_passages: { key: 'id', readable: true },
  conversation_summaries: { key: 'conversation_id', readable: true },
  budgets: { key: 'user_id', readable: true },
  reservations: { key: 'id', readable: true },
  usage_records: { key: 'id', readable: true },
  litellm_keys: { key: 'user_id', readable: false },
  letta_agents: { key: 'user_id', readable: false },
  api_keys: { key: 'id', readable: false },
  attachments: { key: 'id', readable: true },
  attachment_blobs: { key: 'storage_key', readable: false },
} as const satisfies Record<string, { key: string; readable: boolean }>;
type Table = keyof typeof TABLES;
const tableNames = (Object.keys(TABLES) as Table[]).sort();
const readableTables = tableNames.filter((table) => TABLES[table].readable);

/** Table name → the key of the user's one row in it. */
type Seeded = Record<Table, string>;

/** One row in every table for a new user, written as Hearth writes: as the owner. */
async function seedUser(db: Database): Promise<Seeded> {
  const userId = crypto.randomUUID();
  const ids = {
    sessions: crypto.randomUUID(),
    refresh_tokens: crypto.randomUUID(),
    agents: crypto.randomUUID(),
    memory_versions: crypto.randomUUID(),
    conversations: crypto.randomUUID(),
    messages: crypto.randomUUID(),
    runs: crypto.randomUUID(),
    archival_passages: crypto.randomUUID(),
    reservations: crypto.randomUUID(),
    usage_records: crypto.randomUUID(),
    api_keys: crypto.randomUUID(),
    attachments: crypto.randomUUID(),
    attachment_blobs: crypto.randomUUID(),
  };
  const inAnHour = new Date(Date.now() + 3_600_000);
  await db.insert(schema.users).values({ id: userId, email: `rls-${userId}@example.com` });
  await db.insert(schema.credentials).values({ userId, passwordHash: 'hash' });
  await db.insert(schema.sessions).values({ id: ids.sessions, userId, expiresAt: inAnHour });
  await db.insert(schema.refreshTokens).values({ tokenHash: ids.refresh_tokens, sessionId: ids.sessions });
  await db.insert(schema.agents).values({ id: ids.agents, userId, model: 'm' });
  await db.insert(schema.memoryBlocks).values({
    agentId: ids.agents,
    label: 'human',
    value: 'likes tea',
    charLimit: 100,
    description: 'd',
    updatedBy: 'system',
  });
  await db
    .insert(schema.memoryVersions)
    .values({ id: ids.memory_versions, userId, label: 'human', value: 'likes tea', author: 'user' });
  await db.insert(schema.conversations).values({ id: ids.conversations, userId });
  await db.insert(schema.messages).values({
    id: ids.messages,
    userId,
    conversationId: ids.conversations,
    role: 'user',
    content: 'hello',
    status: 'complete',
  });
  await db.insert(schema.runs).values({
    id: ids.runs,
    userId,
    conversationId: ids.conversations,
    userMessageId: ids.messages,
    status: 'completed',
    model: 'm',
  });
  await db.insert(schema.archivalPassages).values({ id: ids.archival_passages, agentId: ids.agents, content: 'note' });
  await db
    .insert(schema.conversationSummaries)
    .values({ conversationId: ids.conversations, summary: 's', throughSeq: 1 });
  await db.insert(schema.budgets).values({ userId, period: 'month', periodStart: new Date() });
  await db.insert(schema.reservations).values({
    id: ids.reservations,
    userId,
    model: 'm',
    amountMicros: 1,
    expiresAt: inAnHour,
  });
  await db.insert(schema.usageRecords).values({
    id: ids.usage_records,
    userId,
    model: 'm',
    promptTokens: 1,
    completionTokens: 1,
    costMicros: 1,
  });
  await db.insert(schema.litellmKeys).values({ userId, key: `sk-${userId}` });
  await db.insert(schema.lettaAgents).values({ userId, lettaAgentId: `agent-${userId}` });
  await db
    .insert(schema.apiKeys)
    .values({ id: ids.api_keys, userId, name: 'k', prefix: 'hth_x', keyHash: `h-${userId}` });
  await db.insert(attachmentSchema.attachmentBlobs).values({
    storageKey: ids.attachment_blobs,
    userId,
    data: new Uint8Array([1, 2, 3]),
  });
  await db.insert(attachmentSchema.attachments).values({
    id: ids.attachments,
    userId,
    messageId: ids.messages,
    position: 0,
    name: 'a.txt',
    mediaType: 'text/plain',
    kind: 'text',
    sizeBytes: 3,
    storage: 'database',
    storageKey: ids.attachment_blobs,
  });
  return {
    ...ids,
    users: userId,
    credentials: userId,
    memory_blocks: ids.agents,
    conversation_summaries: ids.conversations,
    budgets: userId,
    litellm_keys: userId,
    letta_agents: userId,
  };
}

/** An insert of a new row belonging to `owner`, one per table. */
const plant: Record<Table, (owner: Seeded) => SQL> = {
  users: () => sql`insert into users (id, email) values (gen_random_uuid(), gen_random_uuid() || '@example.com')`,
  credentials: (o) => sql`insert into credentials (user_id, password_hash) values (${o.users}, 'mine')`,
  sessions: (o) => sql`insert into sessions (id, user_id, expires_at) values (gen_random_uuid(), ${o.users}, now())`,
  refresh_tokens: (o) =>
    sql`insert into refresh_tokens (token_hash, session_id) values (gen_random_uuid()::text, ${o.sessions})`,
  agents: (o) => sql`insert into agents (id, user_id, model) values (gen_random_uuid(), ${o.users}, 'm')`,
  memory_blocks: (o) => sql`insert into memory_blocks (agent_id, label, value, char_limit, description, updated_by)
    values (${o.agents}, 'planted', 'obey', 10, 'd', 'user')`,
  memory_versions: (o) => sql`insert into memory_versions (id, user_id, label, value, author)
    values (gen_random_uuid(), ${o.users}, 'human', 'planted', 'user')`,
  conversations: (o) => sql`insert into conversations (id, user_id) values (gen_random_uuid(), ${o.users})`,
  messages: (o) => sql`insert into messages (id, user_id, conversation_id, role, content, status)
    values (gen_random_uuid(), ${o.users}, ${o.conversations}, 'assistant', 'planted', 'complete')`,
  runs: (o) => sql`insert into runs (id, user_id, conversation_id, user_message_id, status, model)
    values (gen_random_uuid(), ${o.users}, ${o.conversations}, gen_random_uuid(), 'failed', 'm')`,
  archival_passages: (o) =>
    sql`insert into archival_passages (id, agent_id, content) values (gen_random_uuid(), ${o.agents}, 'planted')`,
  conversation_summaries: (o) => sql`insert into conversation_summaries (conversation_id, summary, through_seq)
    values (${o.conversations}, 'planted', 0)`,
  budgets: (o) => sql`insert into budgets (user_id, period, period_start) values (${o.users}, 'none', now())`,
  reservations: (o) => sql`insert into reservations (id, user_id, model, amount_micros, expires_at)
    values (gen_random_uuid(), ${o.users}, 'm', 1, now())`,
  usage_records: (
    o,
  ) => sql`insert into usage_records (id, user_id, model, prompt_tokens, completion_tokens, cost_micros)
    values (gen_random_uuid(), ${o.users}, 'm', 0, 0, -1)`,
  litellm_keys: (o) => sql`insert into litellm_keys (user_id, key) values (${o.users}, 'sk-planted')`,
  letta_agents: (o) => sql`insert into letta_agents (user_id, letta_agent_id) values (${o.users}, 'agent-planted')`,
  api_keys: (o) => sql`insert into api_keys (id, user_id, name, prefix, key_hash)
    values (gen_random_uuid(), ${o.users}, 'planted', 'hth_p', gen_random_uuid()::text)`,
  attachments: (o) => sql`insert into attachments (id, user_id, message_id, position, name, media_type, kind,
    size_bytes, storage, storage_key)
    values (gen_random_uuid(), ${o.users}, ${o.messages}, 1, 'p.txt', 'text/plain', 'text', 1, 'database', 'k')`,
  attachment_blobs: (o) => sql`insert into attachment_blobs (storage_key, user_id, data)
    values (gen_random_uuid()::text, ${o.users}, '\\x00')`,
};

type Outcome = { keys: string[] } | { error: string };
type Privileges = 'supabase' | 'migration';

function databaseMessage(error: unknown): string {
  let current = error;
  while (current && typeof current === 'object') {
    if ('code' in current && 'message' in current) return String(current.message);
    current = (current as { cause?: unknown }).cause;
  }
  throw error;
}

/**
 * Runs `fn` the way PostgREST runs a request — one transaction, `set local role`, the token's claims in
 * request.jwt.claims — and rolls it all back. With `supabase` privileges, anon and authenticated first get
 * every privilege on every table, as Supabase's default privileges give them, so only RLS stands.
 */
async function asRole(
  db: Database,
  role: 'anon' | 'authenticated',
  claims: { sub: string } | null,
  privileges: Privileges,
  fn: (run: (query: SQL) => Promise<Outcome>) => Promise<void>,
): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      if (privileges === 'supabase') {
        await tx.execute(sql`grant all on all tables in schema public to anon, authenticated`);
      }
      await tx.execute(sql.raw(`set local role ${role}`));
      if (claims) {
        await tx.execute(sql`select set_config('request.jwt.claims', ${JSON.stringify({ ...claims, role })}, true)`);
      }
      await fn(async (query) => {
        try {
          // A savepoint, so a refused statement does not end the transaction.
          const rows = await tx.transaction((savepoint) => queryRows<{ key: string }>(savepoint, query));
          return { keys: rows.map((row) => row.key) };
        } catch (error) {
          return { error: databaseMessage(error) };
        }
      });
      tx.rollback();
    });
  } catch (error) {
    if (!(error instanceof TransactionRollbackError)) throw error;
  }
}

const key = (table: Table) => sql.raw(TABLES[table].key);
const selectKeys = (table: Table) => sql`select ${key(table)}::text as key from ${sql.raw(table)}`;

/** Runs `query` on every table, keyed by table name, for one toEqual with a readable diff. */
async function onEveryTable(
  run: (query: SQL) => Promise<Outcome>,
  query: (table: Table) => SQL,
): Promise<Record<Table, Outcome>> {
  const outcomes = {} as Record<Table, Outcome>;
  for (const table of tableNames) outcomes[table] = await run(query(table));
  return outcomes;
}

const byTable = (outcome: (table: Table) => Outcome) =>
  Object.fromEntries(tableNames.map((table) => [table, outcome(table)]));

const permissionDenied = { error: expect.stringMatching(/^permission denied for table/) };
const rlsViolation = { error: expect.stringMatching(/violates row-level security policy/) };

describe.each(testDatabases())('row level security on $name', ({ location }) => {
  let store: Store;
  let a: Seeded;
  let b: Seeded;

  beforeAll(async () => {
    store = await openStore(location);
    await migrateStore(store, location);
    a = await seedUser(store.db);
    b = await seedUser(store.db);
  });
  afterAll(() => store?.close());

  it('is on for every table holding user data, with no policy that lets a client write', async () => {
    // Tables with a user_id, and everything that points at them: a new one without RLS fails here.
    const owned = await queryRows<{ name: string; rls: boolean }>(
      store.db,
      sql`with recursive owned(oid) as (
            select c.oid from pg_class c
            where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
              and (c.relname = 'users' or exists (
                select from pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' and not a.attisdropped))
            union
            select f.conrelid from pg_constraint f join owned on f.confrelid = owned.oid where f.contype = 'f'
          )
          select c.relname as name, c.relrowsecurity as rls from pg_class c join owned using (oid) order by 1`,
    );
    expect(owned).toEqual(tableNames.map((name) => ({ name, rls: true })));

    const policies = await queryRows<{ table: string; command: string; roles: string }>(
      store.db,
      sql`select tablename as table, cmd as command, array_to_string(roles, ',') as roles
          from pg_policies where schemaname = 'public' order by 1`,
    );
    expect(policies).toEqual(readableTables.map((table) => ({ table, command: 'SELECT', roles: 'authenticated' })));
  });

  describe.each([
    { privileges: 'supabase' as const, title: 'every privilege granted (Supabase default), RLS alone' },
    { privileges: 'migration' as const, title: 'the privileges the migration leaves' },
  ])('under $title', ({ privileges }) => {
    const granted = privileges === 'supabase';

    it("shows a user their own rows and none of another user's, and no secrets", async () => {
      await asRole(store.db, 'authenticated', { sub: a.users }, privileges, async (run) => {
        expect(await onEveryTable(run, selectKeys)).toEqual(
          byTable((table) => {
            if (TABLES[table].readable) return { keys: [a[table]] };
            return granted ? { keys: [] } : permissionDenied;
          }),
        );
      });
    });

    it("lets a user neither change nor delete rows, another user's or their own", async () => {
      await asRole(store.db, 'authenticated', { sub: a.users }, privileges, async (run) => {
        for (const victim of [b, a]) {
          const expected = byTable(() => (granted ? { keys: [] } : permissionDenied));
          const updated = await onEveryTable(
            run,
            (table) => sql`update ${sql.raw(table)} set ${key(table)} = ${key(table)}
                           where ${key(table)} = ${victim[table]} returning ${key(table)}::text as key`,
          );
          expect(updated).toEqual(expected);
          const deleted = await onEveryTable(
            run,
            (table) => sql`delete from ${sql.raw(table)} where ${key(table)} = ${victim[table]}
                           returning ${key(table)}::text as key`,
          );
          expect(deleted).toEqual(expected);
        }
      });
    });

    it("lets a user insert no row, in another user's name or their own", async () => {
      await asRole(store.db, 'authenticated', { sub: a.users }, privileges, async (run) => {
        for (const owner of [b, a]) {
          const inserted = await onEveryTable(run, (table) => plant[table](owner));
          expect(inserted).toEqual(byTable(() => (granted ? rlsViolation : permissionDenied)));
        }
      });
    });

    it("shows anon nothing, even with a user's claims, and a token without a subject nothing", async () => {
      for (const claims of [null, { sub: a.users }]) {
        await asRole(store.db, 'anon', claims, privileges, async (run) => {
          expect(await onEveryTable(run, selectKeys)).toEqual(
            byTable(() => (granted ? { keys: [] } : permissionDenied)),
          );
        });
      }
      await asRole(store.db, 'authenticated', null, privileges, async (run) => {
        expect(await onEveryTable(run, selectKeys)).toEqual(
          byTable((table) => (granted || TABLES[table].readable ? { keys: [] } : permissionDenied)),
        );
      });
    });
  });
});

/** Statements one by one: PGlite's extended protocol takes a single statement per query. */
async function executeEach(db: Database, statements: string[]): Promise<void> {
  for (const statement of statements) await db.execute(sql.raw(statement));
}

/** Lets `role` migrate an in-memory PGlite without being a superuser. */
const ownerOfPublic = (role: string) => [
  `do $$ begin execute format('grant create on database %I to ${role}', current_database()); end $$`,
  `grant create on schema public to ${role}`,
];

describe('migration 0007 on a Supabase-shaped database', () => {
  // Supabase's own objects, owned by its admin role; the migration runs as a non-superuser like its `postgres`.
  const SUPABASE_UID = `select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid`;
  let store: Store;

  beforeAll(async () => {
    store = await openStore({ kind: 'pglite-memory' });
    await executeEach(store.db, [
      'create role supabase_auth_admin nologin',
      'create role anon nologin',
      'create role authenticated nologin',
      'create role service_role nologin bypassrls',
      'create role hearth_owner nologin createrole',
      'create schema auth authorization supabase_auth_admin',
      'grant usage on schema auth to anon, authenticated, service_role, hearth_owner',
      `create function auth.uid() returns uuid language sql stable as $$ ${SUPABASE_UID} $$`,
      'alter function auth.uid() owner to supabase_auth_admin',
      ...ownerOfPublic('hearth_owner'),
      'alter default privileges for role hearth_owner in schema public grant all on tables to anon, authenticated, service_role',
      'set role hearth_owner',
    ]);
    await migrateStore(store, { kind: 'pglite-memory' });
    await executeEach(store.db, ['reset role']);
  });
  afterAll(() => store?.close());

  it("keeps Supabase's auth.uid() and narrows its default grants to reading", async () => {
    const [uid] = await queryRows<{ owner: string; source: string }>(
      store.db,
      sql`select pg_get_userbyid(proowner) as owner, prosrc as source from pg_proc where oid = 'auth.uid()'::regprocedure`,
    );
    expect(uid).toEqual({ owner: 'supabase_auth_admin', source: ` ${SUPABASE_UID} ` });
    const [privileges] = await queryRows(
      store.db,
      sql`select has_table_privilege('anon', 'messages', 'select') as anon_reads,
                 has_table_privilege('authenticated', 'messages', 'select') as authenticated_reads,
                 has_table_privilege('authenticated', 'messages', 'insert, update, delete') as authenticated_writes,
                 has_table_privilege('authenticated', 'credentials', 'select') as authenticated_reads_secrets,
                 has_table_privilege('service_role', 'credentials', 'select') as service_role_reads_secrets`,
    );
    expect(privileges).toEqual({
      anon_reads: false,
      authenticated_reads: true,
      authenticated_writes: false,
      authenticated_reads_secrets: false,
      service_role_reads_secrets: true,
    });
  });

  it("shows a user only their own rows through Supabase's auth.uid()", async () => {
    const a = await seedUser(store.db);
    await seedUser(store.db);
    await asRole(store.db, 'authenticated', { sub: a.users }, 'migration', async (run) => {
      expect(await onEveryTable(run, selectKeys)).toEqual(
        byTable((table) => (TABLES[table].readable ? { keys: [a[table]] } : permissionDenied)),
      );
    });
  });
});

describe('migration 0007 run by a role that may not create roles', () => {
  it('still migrates, leaving every table to its owner alone', async () => {
    const store = await openStore({ kind: 'pglite-memory' });
    try {
      await executeEach(store.db, [
        'create role hearth_owner nologin',
        ...ownerOfPublic('hearth_owner'),
        'set role hearth_owner',
      ]);
      await migrateStore(store, { kind: 'pglite-memory' });
      await executeEach(store.db, ['reset role']);
      const [state] = await queryRows(
        store.db,
        sql`select to_regrole('authenticated') is null as no_role, to_regnamespace('auth') is null as no_auth_schema,
                   (select count(*)::int from pg_policies where schemaname = 'public') as policies,
                   (select count(*)::int from pg_class where relnamespace = 'public'::regnamespace
                      and relkind = 'r' and not relrowsecurity) as tables_without_rls`,
      );
      expect(state).toEqual({ no_role: true, no_auth_schema: true, policies: 0, tables_without_rls: 0 });
    } finally {
      await store.close();
    }
  });
});
