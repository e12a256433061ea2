import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHearthClient, type HearthClient } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectHearthError } from '../support/expect-error';
import { chatTurn, collectRun } from '../support/run-events';
import { type Started, serverDir, startProcess, stop } from '../support/server-process';
import { PASSWORD, TEST_JWT_SECRET, uniqueEmail } from '../support/test-server';

const PRICES_FILE = fileURLToPath(new URL('../fixtures/model-prices.json', import.meta.url));
const ANSWER = { text: 'fine thanks', usage: { promptTokens: 300, completionTokens: 2 } };

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `pnpm hearth <args>` as the root script runs it: src/cli.ts in apps/server, in a process of its own. */
function hearth(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: serverDir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

async function ok(result: Promise<CliResult>): Promise<CliResult> {
  const done = await result;
  expect(done.code, `${done.stdout}\n${done.stderr}`).toBe(0);
  return done;
}

const json = async <T>(result: Promise<CliResult>): Promise<T> => JSON.parse((await ok(result)).stdout) as T;

interface Setup {
  name: string;
  store: () => Record<string, string>;
}
const setups: Setup[] = [
  {
    name: 'PGlite in a data directory',
    store: () => ({ HEARTH_DATA_DIR: mkdtempSync(join(tmpdir(), 'hearth-cli-')) }),
  },
  ...(process.env.TEST_DATABASE_URL
    ? [{ name: 'PostgreSQL', store: () => ({ DATABASE_URL: process.env.TEST_DATABASE_URL ?? '' }) }]
    : []),
];

describe.each(setups)('pnpm hearth ($name)', ({ name, store }) => {
  const shared = name === 'PostgreSQL';
  let llm: LlmTestServer;
  let env: Record<string, string>;
  let server: Started | undefined;
  const adminEmail = uniqueEmail('cli-admin');
  const userEmail = uniqueEmail('cli-user');
  let admin: HearthClient;
  let user: HearthClient;

  const startServer = async () => {
    server = await startProcess(env);
    admin = createHearthClient({ url: server.url, ...(admin?.session ? { session: admin.session } : {}) });
    user = createHearthClient({ url: server.url, ...(user?.session ? { session: user.session } : {}) });
  };
  const stopServer = async () => {
    if (server) await stop(server.child);
    server = undefined;
  };

  beforeAll(async () => {
    llm = await startLlmTestServer({ respond: () => ANSWER });
    env = {
      ...store(),
      JWT_SECRET: TEST_JWT_SECRET,
      LLM_BASE_URL: llm.url,
      LLM_API_KEY: 'k',
      LLM_MODEL: 'test-model',
      MODEL_PRICES_FILE: PRICES_FILE,
      DEFAULT_BUDGET_USD: '5',
      LOGIN_MAX_ATTEMPTS_PER_IP: '100000',
    };
    await startServer();
    await admin.auth.register.mutate({ email: adminEmail, password: PASSWORD });
    await user.auth.register.mutate({ email: userEmail, password: PASSWORD, displayName: 'Cli User' });
    await chatTurn(user, 'hello there');
  }, 180_000);
  afterAll(async () => {
    await stopServer();
    await llm?.close();
    if (env?.HEARTH_DATA_DIR) rmSync(env.HEARTH_DATA_DIR, { recursive: true, force: true });
  });

  it('answers --help for every command', async () => {
    const top = await ok(hearth(env, '--help'));
    for (const command of ['migrate', 'admin', 'users', 'budget', 'usage', 'export'])
      expect(top.stdout).toContain(command);
    const list = await ok(hearth(env, 'users', 'list', '--help'));
    expect(list.stdout).toMatch(/--query[\s\S]*--json/);
    const budget = await ok(hearth(env, 'budget', 'set', '--help'));
    expect(budget.stdout).toContain('<email> <usd> <period>');
    const wrong = await hearth(env, 'usage', 'report', '--by', 'week');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/Allowed choices are user, model, day/);
  }, 60_000);

  it.runIf(!shared)(
    'says clearly that the running server holds the embedded database',
    async () => {
      const refused = await hearth(env, 'users', 'list');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/in use by a running Hearth server \(pid \d+\).*Stop the server/);
      expect(refused.stderr).not.toMatch(/\n\s+at /);
      await stopServer();
    },
    60_000,
  );

  it("creates the first admin, shows every user's spend, sets a budget the user cannot raise", async () => {
    const granted = await json<{ role: string }>(hearth(env, 'admin', 'grant', adminEmail.toUpperCase(), '--json'));
    expect(granted.role).toBe('admin');
    const missing = await hearth(env, 'admin', 'grant', 'nobody@example.com');
    expect([missing.code, missing.stderr]).toEqual([
      1,
      'hearth: no account has the email nobody@example.com; register it first\n',
    ]);

    const listed = await json<{
      items: Array<{ email: string; role: string; budget: { spentUsd: number; limitUsd: number } }>;
    }>(hearth(env, 'users', 'list', '--json', '--limit', '100'));
    const row = listed.items.find((item) => item.email === userEmail);
    expect(row?.budget.limitUsd).toBe(5);
    expect(row?.budget.spentUsd).toBeGreaterThan(0);
    expect(listed.items.find((item) => item.email === adminEmail)?.role).toBe('admin');
    const text = await ok(hearth(env, 'users', 'list', '--query', 'cli-user'));
    expect(text.stdout).toMatch(/email\s+role\s+status\s+spent\s+limit/);
    expect(text.stdout).toContain(userEmail);

    const report = await ok(hearth(env, 'usage', 'report', '--by', 'model', '--from', '2020-01-01'));
    expect(report.stdout).toMatch(/model\s+requests\s+prompt tokens\s+output tokens\s+cost/);
    expect(report.stdout).toMatch(/test-model\s+\d+/);
    expect(report.stdout).toMatch(/total\s+\d+/);
    const byUser = await json<{ buckets: Array<{ email: string }> }>(hearth(env, 'usage', 'report', '--json'));
    expect(byUser.buckets.map((bucket) => bucket.email)).toContain(userEmail);

    const bad = await hearth(env, 'budget', 'set', userEmail, '-3', 'month');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/limitUsd: A budget cannot be negative/);
    const spent = row?.budget.spentUsd ?? 0;
    const set = await json<{ limitUsd: number; period: string }>(
      hearth(env, 'budget', 'set', userEmail, String(spent), 'month', '--json'),
    );
    expect(set).toMatchObject({ limitUsd: spent, period: 'month' });

    if (!server) await startServer();
    // The admin API, through the SDK, with the role the CLI gave (a new login reads it).
    await admin.auth.login.mutate({ email: adminEmail, password: PASSWORD });
    const seen = await admin.admin.users.query({ query: userEmail });
    expect(seen.items[0]?.budget).toMatchObject({ limitUsd: spent, operatorSet: true });
    await expectHearthError(user.user.setBudget.mutate({ limitUsd: spent + 1, period: 'month' }), 'BUDGET_CEILING');
    const refused = await collectRun(user, (await user.chat.send.mutate({ text: 'more?' })).runId);
    expect(refused.terminal).toMatchObject({ type: 'run.failed', appCode: 'BUDGET_EXCEEDED' });
    await admin.admin.setBudget.mutate({ userId: (await user.user.profile.query()).id, limitUsd: 5, period: 'month' });
  }, 180_000);

  it.runIf(shared)(
    'lowers the limit of a user who is chatting, with the server running',
    async () => {
      llm.setResponder(() => ({ ...ANSWER, ttftMs: 1_500 }));
      const sent = await user.chat.send.mutate({ text: 'a slow one' });
      const profile = await user.user.profile.query();
      const spent = (await user.user.budget.query()).spentUsd;
      await ok(hearth(env, 'budget', 'set', userEmail, String(spent), 'month'));
      await collectRun(user, sent.runId);
      llm.setResponder(() => ANSWER);
      const next = await collectRun(user, (await user.chat.send.mutate({ text: 'and now?' })).runId);
      expect(next.terminal).toMatchObject({ type: 'run.failed', appCode: 'BUDGET_EXCEEDED' });
      await admin.admin.setBudget.mutate({ userId: profile.id, limitUsd: 5, period: 'month' });
    },
    60_000,
  );

  it('disables and enables an account, and exports a user as JSON', async () => {
    if (!shared) await stopServer();
    const disabled = await json<{ status: string }>(hearth(env, 'users', 'disable', userEmail, '--json'));
    expect(disabled.status).toBe('disabled');
    const shown = await ok(hearth(env, 'users', 'show', userEmail));
    expect(shown.stdout).toMatch(/cli-user.*\(user, disabled since/);

    const exported = await ok(hearth(env, 'export', userEmail));
    const document = JSON.parse(exported.stdout) as {
      profile: { email: string; displayName: string };
      conversations: Array<{ messages: Array<{ role: string; content: string }> }>;
      memory: { blocks: Array<{ label: string }> };
      usage: Array<{ model: string; costUsd: number }>;
    };
    expect(document.profile).toMatchObject({ email: userEmail, displayName: 'Cli User' });
    const texts = document.conversations.flatMap((conversation) => conversation.messages.map((m) => m.content));
    expect(texts).toEqual(expect.arrayContaining(['hello there', 'fine thanks']));
    expect(document.memory.blocks.length).toBeGreaterThan(0);
    expect(document.usage[0]).toMatchObject({ model: 'test-model' });
    expect(exported.stderr).toMatch(/exported \d+\/\d+ conversations/);
    expect(JSON.stringify(document)).not.toMatch(/password|hash|refresh/i);

    if (!server) await startServer();
    // A new process, or 5 s for one sharing PostgreSQL (as for a logout elsewhere).
    await expect
      .poll(
        () =>
          user.user.profile.query().then(
            () => 'allowed',
            (e: { data?: { appCode?: string } }) => e.data?.appCode,
          ),
        {
          timeout: 8_000,
        },
      )
      .toBe('FORBIDDEN');
    await expectHearthError(
      createHearthClient({ url: server?.url ?? '' }).auth.login.mutate({ email: userEmail, password: PASSWORD }),
      'FORBIDDEN',
    );
    if (!shared) await stopServer();
    await ok(hearth(env, 'users', 'enable', userEmail));
    if (!server) await startServer();
    const back = createHearthClient({ url: server?.url ?? '' });
    await expect
      .poll(
        () =>
          back.auth.login.mutate({ email: userEmail, password: PASSWORD }).then(
            () => 'in',
            (e: { data?: { appCode?: string } }) => e.data?.appCode,
          ),
        { timeout: 8_000, interval: 1_000 },
      )
      .toBe('in');
    expect((await back.user.profile.query()).email).toBe(userEmail);
  }, 180_000);
});
