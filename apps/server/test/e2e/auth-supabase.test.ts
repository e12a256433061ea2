import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schema } from '@hearth/core';
import { TestClock } from '@hearth/core/testing';
import { createHearthClient, type Session } from '@hearth/sdk';
import { type FakeSupabaseAuth, type FakeSupabaseAuthOptions, startFakeSupabaseAuth } from '@hearth/testkit';
import { eq } from 'drizzle-orm';
import { decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { supabaseEnv } from '../support/auth-providers';
import { expectHearthError } from '../support/expect-error';
import { chatTurn } from '../support/run-events';
import { serverDir, startProcess, stop } from '../support/server-process';
import { PASSWORD, signedInClient, startTestServer, type TestServer, uniqueEmail } from '../support/test-server';

const LEAKED = 'correct horse battery staple';
const LEGACY_SECRET = 'a-legacy-supabase-jwt-secret-of-32-chars';

/** A Supabase project (the fake) and a Hearth server on it, sharing one clock. */
function supabaseProject(options: FakeSupabaseAuthOptions = {}, env: Record<string, string> = {}) {
  const clock = new TestClock();
  const project = { clock } as { clock: TestClock; fake: FakeSupabaseAuth; server: TestServer };
  beforeAll(async () => {
    project.fake = await startFakeSupabaseAuth({ now: () => clock.now(), ...options });
    project.server = await startTestServer({
      store: { kind: 'pglite-memory' },
      clock,
      env: { ...supabaseEnv(project.fake), ...env },
    });
  });
  afterEach(() => project.fake.contract.assertClean());
  afterAll(async () => {
    await project.server?.close();
    await project.fake?.close();
  });
  return project;
}

const storedUser = async (server: TestServer, id: string) =>
  (await server.hearth.store.db.select().from(schema.users).where(eq(schema.users.id, id)))[0];

const kidOf = (session: Session | null) => decodeProtectedHeader(session?.accessToken ?? '').kid;

describe('AUTH_PROVIDER=supabase', () => {
  const project = supabaseProject({ leakedPasswords: [LEAKED] });
  const jwksFetches = () => project.fake.calls.filter((call) => call.path === '/.well-known/jwks.json').length;

  /** As an app that talks to Supabase itself would sign in, before calling Hearth with the token. */
  const signInDirectly = async (email: string, password: string): Promise<Session> => {
    const response = await fetch(`${project.fake.url}/auth/v1/token?grant_type=password`, {
      method: 'POST',
      headers: { apikey: project.fake.anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const body = (await response.json()) as { access_token: string; refresh_token: string; expires_at: number };
    return {
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      tokenType: 'bearer',
      expiresAt: new Date(body.expires_at * 1000),
    };
  };

  it('checks access tokens itself: authenticated requests cost no call to Supabase', async () => {
    const client = await signedInClient(project.server, 'local');
    await client.auth.me.query();
    const before = project.fake.calls.length;
    for (let i = 0; i < 5; i += 1) {
      await client.auth.me.query();
      await client.user.profile.query();
    }
    expect(project.fake.calls.length).toBe(before);
    expect(project.fake.calls.filter((call) => call.path === '/user')).toHaveLength(0);
  });

  it('calls Supabase with the publishable key and the user’s own JWT only', async () => {
    const client = await signedInClient(project.server, 'keys');
    await client.auth.refresh.mutate({ refreshToken: client.session?.refreshToken ?? '' });
    await client.auth.logout.mutate({});
    const { fake } = project;
    const calls = fake.calls.filter((call) => call.path !== '/.well-known/jwks.json');
    expect(new Set(calls.map((call) => call.path))).toEqual(new Set(['/signup', '/token', '/logout']));
    for (const call of calls) {
      expect(call.apikey).toBe(fake.anonKey);
      expect(call.apiVersion).toBe('2024-01-01');
    }
    const bearers = new Set(calls.map((call) => call.authorization));
    const userJwts = [...bearers].filter((bearer) => bearer !== `Bearer ${fake.anonKey}`);
    // Only logout presents a user's token, and it is the caller's own.
    expect(userJwts).toHaveLength(1);
    expect(calls.find((call) => call.path === '/logout')?.authorization).toBe(userJwts[0]);
  });

  it('calls Supabase through supabase-js, which runs on this Node version', async () => {
    await signedInClient(project.server, 'client-info');
    const signUp = project.fake.calls.findLast((call) => call.path === '/signup');
    expect(signUp?.clientInfo).toMatch(/^supabase-js\/2\.\d+\.\d+; .*runtime=node; runtime-version=/);
    expect(signUp?.clientInfo).toContain(`runtime-version=${process.versions.node}`);
    expect(project.fake.calls.filter((call) => call.path.startsWith('/realtime'))).toEqual([]);
  });

  it('keeps working through a key rotation, without a restart', async () => {
    const { fake, server, clock } = project;
    const before = await signedInClient(server, 'rotation');
    await before.auth.me.query();
    const oldKid = kidOf(before.session);
    const fetched = jwksFetches();

    const newKid = await fake.rotateKeys();
    const after = server.client();
    await after.auth.login.mutate({ email: (await before.auth.me.query()).email, password: PASSWORD });
    expect(kidOf(after.session)).toBe(newKid);
    // A kid the server has not seen makes it fetch the JWKS again, at most once per 30 s.
    clock.advance(30_000);
    await after.auth.me.query();
    await before.auth.me.query();
    expect(jwksFetches()).toBe(fetched + 1);

    // Once the old key is revoked, its tokens stop working when the cached set expires (10 minutes);
    // the SDK then refreshes and carries on with a token under the current key.
    await fake.rotateKeys({ dropPrevious: true });
    clock.advance(10 * 60_000);
    expect(kidOf(before.session)).toBe(oldKid);
    await before.auth.me.query();
    expect(kidOf(before.session)).toBe(fake.currentKid);
  });

  it('gives a user made in the Supabase dashboard a Hearth account when they log in, and lets them chat', async () => {
    const email = uniqueEmail('dashboard');
    const made = project.fake.createUser({ email, password: PASSWORD, userMetadata: { full_name: 'Grace Hopper' } });
    expect(await storedUser(project.server, made.id)).toBeUndefined();

    const client = project.server.client();
    const { user } = await client.auth.login.mutate({ email, password: PASSWORD });
    expect(user).toMatchObject({ id: made.id, email, displayName: 'Grace Hopper', role: 'user' });
    expect(await storedUser(project.server, made.id)).toMatchObject({ id: made.id, email });

    const turn = await chatTurn(client, 'Hi! My name is Grace.');
    expect(turn.terminal).toMatchObject({ type: 'run.completed' });
    const { messages } = await client.chat.history.query({});
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('creates the account on the first request of a user who signed in to Supabase elsewhere', async () => {
    const email = uniqueEmail('elsewhere');
    const made = project.fake.createUser({ email, password: PASSWORD });
    const client = project.server.client({ session: await signInDirectly(email, PASSWORD) });
    expect(await client.auth.me.query()).toMatchObject({ id: made.id, email, displayName: null });
    expect(await storedUser(project.server, made.id)).toBeDefined();
  });

  it('follows Supabase when the token just replaced comes back: it hands out the live one again', async () => {
    // GoTrue's rule for a client that lost the answer to its refresh; the built-in provider ends the session.
    const client = await signedInClient(project.server, 'lost-answer');
    const first = client.session?.refreshToken ?? '';
    const { session: second } = await client.auth.refresh.mutate({ refreshToken: first });
    const { session: again } = await project.server.client().auth.refresh.mutate({ refreshToken: first });
    expect(again.refreshToken).toBe(second.refreshToken);
  });

  it('answers WEAK_PASSWORD for a password Supabase knows from a breach, and keeps no account', async () => {
    const email = uniqueEmail('leaked');
    const error = await expectHearthError(
      project.server.client().auth.register.mutate({ email, password: LEAKED }),
      'WEAK_PASSWORD',
    );
    expect(error.message).toMatch(/breach/);
    expect(error.data.fieldErrors?.password).toHaveLength(1);
    const rows = await project.server.hearth.store.db.select().from(schema.users).where(eq(schema.users.email, email));
    expect(rows).toHaveLength(0);
  });

  it('deletes a Supabase user’s account after a fresh login; the email registers again once Supabase drops the user', async () => {
    const email = uniqueEmail('rights');
    const client = project.server.client();
    const { user } = await client.auth.register.mutate({ email, password: PASSWORD });
    await chatTurn(client, 'Hi! My name is Ada.');
    await expectHearthError(client.user.deleteAccount.mutate({ password: 'not the password' }), 'INVALID_CREDENTIALS');
    expect(await client.user.deleteAccount.mutate({ password: PASSWORD })).toEqual({ ok: true });
    expect(await storedUser(project.server, user.id)).toBeUndefined();
    // The Supabase user is the project's: signing in with it is refused here, not a way back to the data.
    await expectHearthError(project.server.client().auth.login.mutate({ email, password: PASSWORD }), 'FORBIDDEN');
    project.fake.deleteUser(user.id);
    const { user: reborn } = await project.server.client().auth.register.mutate({ email, password: PASSWORD });
    expect(reborn.id).not.toBe(user.id);
  });

  it('ends the session of a user deleted in Supabase at the next refresh', async () => {
    const client = project.server.client();
    const { user, session } = await client.auth.register.mutate({ email: uniqueEmail('deleted'), password: PASSWORD });
    project.fake.deleteUser(user.id);
    await expectHearthError(client.auth.refresh.mutate({ refreshToken: session.refreshToken }), 'UNAUTHENTICATED');
  });

  it('names supabase-auth in /readyz', async () => {
    const response = await fetch(`${project.server.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready', checks: { store: 'ok', 'supabase-auth': 'ok' } });
  });
});

describe('AUTH_PROVIDER=supabase with "Confirm email" on', () => {
  const project = supabaseProject({ autoconfirm: false });

  it('says to confirm the email, at sign-up and at login until it is confirmed', async () => {
    const email = uniqueEmail('unconfirmed');
    const signUp = await expectHearthError(
      project.server.client().auth.register.mutate({ email, password: PASSWORD }),
      'FORBIDDEN',
    );
    expect(signUp.message).toMatch(/confirm your email/i);
    const login = await expectHearthError(
      project.server.client().auth.login.mutate({ email, password: PASSWORD }),
      'FORBIDDEN',
    );
    expect(login.message).toMatch(/confirm your email/i);
    expect(await project.server.hearth.store.db.select().from(schema.users)).toHaveLength(0);
  });
});

describe('AUTH_PROVIDER=supabase on a legacy project (HS256)', () => {
  const project = supabaseProject({ legacyJwtSecret: LEGACY_SECRET }, { SUPABASE_JWT_SECRET: LEGACY_SECRET });

  it('verifies its tokens with SUPABASE_JWT_SECRET and never needs the JWKS', async () => {
    const client = await signedInClient(project.server, 'legacy');
    expect(decodeProtectedHeader(client.session?.accessToken ?? '').alg).toBe('HS256');
    await client.auth.me.query();
    await client.auth.refresh.mutate({ refreshToken: client.session?.refreshToken ?? '' });
    expect((await client.user.profile.query()).email).toMatch(/^legacy-/);
    expect(project.fake.calls.filter((call) => call.path === '/.well-known/jwks.json')).toHaveLength(0);
  });
});

describe('AUTH_PROVIDER=supabase while Supabase Auth is down', () => {
  const project = supabaseProject();

  it('fails /readyz naming supabase-auth and refuses sign-ups as UPSTREAM_UNAVAILABLE, yet still serves signed-in users', async () => {
    const client = await signedInClient(project.server, 'outage');
    await client.auth.me.query();
    project.fake.contract.assertClean();
    await project.fake.close();

    const response = await fetch(`${project.server.url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ checks: { 'supabase-auth': 'failing' }, failing: ['supabase-auth'] });
    const error = await expectHearthError(
      project.server.client().auth.register.mutate({ email: uniqueEmail('outage'), password: PASSWORD }),
      'UPSTREAM_UNAVAILABLE',
    );
    expect(error.data.retryable).toBe(true);
    // The signing keys are already held, so the signed-in keep working.
    expect((await client.auth.me.query()).email).toMatch(/^outage-/);
  });
});

describe('the server process with AUTH_PROVIDER=supabase', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-supabase-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses to start without SUPABASE_URL, naming it', async () => {
    const failure = await startProcess({ HEARTH_DATA_DIR: dataDir, AUTH_PROVIDER: 'supabase' }).catch(
      (error: { code: number; output: string }) => error,
    );
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { output: string }).output.trim()).toBe(
      'hearth: Invalid setting SUPABASE_URL: required when AUTH_PROVIDER=supabase',
    );
  }, 30_000);

  it('starts on Supabase Auth, says so, and keeps no signing key of its own', async () => {
    const fake = await startFakeSupabaseAuth();
    const started = await startProcess({ HEARTH_DATA_DIR: dataDir, INIT_CWD: serverDir, ...supabaseEnv(fake) });
    try {
      const client = createHearthClient({ url: started.url });
      await client.auth.register.mutate({ email: uniqueEmail('process'), password: PASSWORD });
      expect((await client.auth.me.query()).email).toMatch(/^process-/);
      expect(started.output()).toContain(`auth: Supabase Auth at ${fake.url}`);
      expect(readdirSync(dataDir)).not.toContain('jwt-secret');
      fake.contract.assertClean();
      await client.auth.logout.mutate({});
      // supabase-js's Realtime client is built (it would throw on Node 20 without ws) but never connects.
      expect(fake.calls.filter((call) => call.path.startsWith('/realtime'))).toEqual([]);
      expect(await stop(started.child)).toBe(0);
      expect(started.output()).not.toMatch(/error/i);
    } finally {
      started.child.kill('SIGKILL');
      await fake.close();
    }
  }, 60_000);
});
