-- Row level security, for clients that reach this database without going through Hearth: on Supabase,
-- PostgREST (and Realtime) run a user's requests as role authenticated with the token's claims in
-- request.jwt.claims, and anon and authenticated get every privilege on new public tables by default.
-- Hearth's own connection owns these tables, and owners bypass RLS (it is not forced): the server scopes
-- every query by user itself, and needs to see across users for sweeps, budgets and sign-in.
--
-- Every table gets RLS, so whoever is not the owner sees nothing unless a policy says otherwise.
-- A user may read their own profile, agent, memory, chats, runs and spend. Nobody may write through
-- these roles: writes go through Hearth, which keeps the invariants (memory limits, one live run per
-- conversation, budgets). Secrets (password hashes, sessions, refresh tokens, LiteLLM virtual keys)
-- have no policy at all.
ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "credentials" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "sessions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "refresh_tokens" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "agents" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "memory_blocks" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "conversations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "messages" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "runs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "archival_passages" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "conversation_summaries" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "budgets" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "reservations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "usage_records" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "litellm_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
DO $migration$
DECLARE
  role_name text;
BEGIN
  -- Supabase already has these roles, schema and function, owned by its own roles: only what is missing
  -- (PGlite, plain PostgreSQL) is created, with Supabase's names so the same policies hold everywhere.
  BEGIN
    FOREACH role_name IN ARRAY ARRAY['anon', 'authenticated'] LOOP
      CONTINUE WHEN to_regrole(role_name) IS NOT NULL;
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        -- Roles belong to the whole cluster: another database's migration created it meanwhile.
        NULL;
      END;
    END LOOP;
    IF to_regnamespace('auth') IS NULL THEN
      CREATE SCHEMA auth;
      GRANT USAGE ON SCHEMA auth TO anon, authenticated;
    END IF;
    IF to_regprocedure('auth.uid()') IS NULL THEN
      CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $uid$
        SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid
      $uid$;
    END IF;
  EXCEPTION WHEN insufficient_privilege THEN
    -- A role that may not create roles or schemas still gets a working Hearth: RLS without policies
    -- leaves these tables to their owner alone, which is the safe side.
    RAISE WARNING 'row level security: no policies for role authenticated (%); create roles anon and authenticated, schema auth and auth.uid() as an administrator to add them', SQLERRM;
    RETURN;
  END;

  -- (select auth.uid()) is evaluated once per statement rather than once per row.
  CREATE POLICY users_select_own ON users FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = id);
  CREATE POLICY agents_select_own ON agents FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = user_id);
  CREATE POLICY memory_blocks_select_own ON memory_blocks FOR SELECT TO authenticated
    USING (EXISTS (
      SELECT 1 FROM agents WHERE agents.id = memory_blocks.agent_id AND agents.user_id = (SELECT auth.uid())
    ));
  CREATE POLICY archival_passages_select_own ON archival_passages FOR SELECT TO authenticated
    USING (EXISTS (
      SELECT 1 FROM agents WHERE agents.id = archival_passages.agent_id AND agents.user_id = (SELECT auth.uid())
    ));
  CREATE POLICY conversations_select_own ON conversations FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = user_id);
  CREATE POLICY messages_select_own ON messages FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = user_id);
  CREATE POLICY runs_select_own ON runs FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = user_id);
  CREATE POLICY conversation_summaries_select_own ON conversation_summaries FOR SELECT TO authenticated
    USING (EXISTS (
      SELECT 1 FROM conversations
      WHERE conversations.id = conversation_summaries.conversation_id AND conversations.user_id = (SELECT auth.uid())
    ));
  CREATE POLICY budgets_select_own ON budgets FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = user_id);
  CREATE POLICY reservations_select_own ON reservations FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = user_id);
  CREATE POLICY usage_records_select_own ON usage_records FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = user_id);

  -- Privileges as a second wall, narrowed to what the policies allow: should a policy ever be dropped
  -- or RLS disabled by hand, Supabase's default grants alone would open the tables again.
  REVOKE ALL ON users, credentials, sessions, refresh_tokens, agents, memory_blocks, conversations, messages,
    runs, archival_passages, conversation_summaries, budgets, reservations, usage_records, litellm_keys
    FROM anon, authenticated;
  GRANT SELECT ON users, agents, memory_blocks, conversations, messages, runs, archival_passages,
    conversation_summaries, budgets, reservations, usage_records
    TO authenticated;
END
$migration$;
