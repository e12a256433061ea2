import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHearthClient } from '@hearth/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { collectRun } from '../support/run-events';
import { serverDir, startProcess, stop } from '../support/server-process';
import { PASSWORD } from '../support/test-server';

describe('the server process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates its data directory on first run and keeps accounts across a restart', async () => {
    const env = { HEARTH_DATA_DIR: dataDir, INIT_CWD: serverDir };
    const first = await startProcess(env);
    const email = `restart-${Date.now()}@example.com`;
    await createHearthClient({ url: first.url }).auth.register.mutate({ email, password: PASSWORD });
    expect(await stop(first.child)).toBe(0);
    expect(statSync(join(dataDir, 'pgdata')).isDirectory()).toBe(true);
    expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);

    const second = await startProcess(env);
    try {
      const { user } = await createHearthClient({ url: second.url }).auth.login.mutate({ email, password: PASSWORD });
      expect(user.email).toBe(email);
      expect(second.output()).toContain('PGlite at');
    } finally {
      await stop(second.child);
    }
  }, 60_000);

  it('runs as `pnpm start` runs it: the built bundle migrates, serves the web app and the API reference, and answers', async () => {
    const built = await startProcess({ HEARTH_DATA_DIR: join(dataDir, 'built'), INIT_CWD: serverDir }, { built: true });
    try {
      const client = createHearthClient({ url: built.url });
      await client.auth.register.mutate({ email: `built-${Date.now()}@example.com`, password: PASSWORD });
      const { runId } = await client.chat.send.mutate({ text: 'hello from the bundle' });
      const { terminal } = await collectRun(client, runId);
      expect(terminal?.type).toBe('run.completed');
      const page = await fetch(`${built.url}/`);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('<div id="root">');
      // The reference page and the script it loads from @scalar/api-reference, resolved at run time.
      const docs = await (await fetch(`${built.url}/docs`)).text();
      const script = /<script[^>]+src="([^"]+)"/.exec(docs)?.[1];
      expect(script).toBeDefined();
      expect((await fetch(new URL(script ?? '', built.url))).status).toBe(200);
    } finally {
      expect(await stop(built.child)).toBe(0);
    }
  }, 90_000);

  it('marks a run cut off by a crash as failed on the next start, keeping the user message', async () => {
    const env = { HEARTH_DATA_DIR: join(dataDir, 'crash'), INIT_CWD: serverDir, OFFLINE_WORD_DELAY_MS: '500' };
    const first = await startProcess(env);
    const client = createHearthClient({ url: first.url });
    await client.auth.register.mutate({ email: `crash-${Date.now()}@example.com`, password: PASSWORD });
    const { runId } = await client.chat.send.mutate({ text: 'tell me something long' });
    await new Promise((resolve) => setTimeout(resolve, 800));
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await startProcess(env);
    try {
      const again = createHearthClient({ url: second.url, session: client.session });
      const { terminal } = await collectRun(again, runId);
      expect(terminal).toMatchObject({ type: 'run.failed', appCode: 'INTERNAL' });
      const { messages } = await again.chat.history.query({});
      expect(messages.map((m) => [m.role, m.content])).toEqual([['user', 'tell me something long']]);
      expect(second.output()).toContain('ended runs a stopped server process left running');
    } finally {
      await stop(second.child);
    }
  }, 60_000);

  it('refuses a second server on the same data directory, naming the one that holds it', async () => {
    const env = { HEARTH_DATA_DIR: join(dataDir, 'shared'), INIT_CWD: serverDir };
    const first = await startProcess(env);
    try {
      const failure = await startProcess(env).catch((error: { code: number; output: string }) => error);
      expect(failure).toMatchObject({ code: 1 });
      expect((failure as { output: string }).output).toContain(
        `in use by another Hearth process (pid ${first.child.pid})`,
      );
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    } finally {
      await stop(first.child);
    }
  }, 60_000);

  it('refuses to start on a bad setting, with one line naming it', async () => {
    const failure = await startProcess({ HEARTH_DATA_DIR: dataDir, PORT: 'not-a-port' }).catch(
      (error: { code: number; output: string }) => error,
    );
    expect(failure).toMatchObject({ code: 1 });
    const { output } = failure as { output: string };
    expect(output.trim()).toMatch(/^hearth: Invalid setting PORT: .*"not-a-port"\)$/);
    expect(output.trim().split('\n')).toHaveLength(1);
  }, 30_000);
});

/** Starts the server expecting it to refuse: exit code 1 and one line on stderr, no stack, SQL or secret. */
async function refusal(env: Record<string, string>): Promise<string> {
  const failure = await startProcess(env).catch((error: { code: number; output: string }) => error);
  expect(failure).toMatchObject({ code: 1 });
  const output = (failure as { output: string }).output.trim();
  expect(output.split('\n')).toHaveLength(1);
  expect(output).not.toMatch(/hunter2|\bselect\b|params:|\n\s+at /i);
  return output;
}

describe('the server process refusing to start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-refuse-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a .env line that is not NAME=value, naming the file and line but not its text', async () => {
    const cwd = mkdtempSync(join(dataDir, 'env-'));
    writeFileSync(join(cwd, '.env'), '# settings\nLOG_LEVEL=info\nhunter2-pasted-alone\nOFFLINE_WORD_DELAY_MS=5\n');
    const output = await refusal({ INIT_CWD: cwd, HEARTH_DATA_DIR: dataDir });
    expect(output).toBe(`hearth: ${join(cwd, '.env')} line 3: expected NAME=value, a # comment or a blank line`);
  }, 30_000);

  it('shows a bad URL setting without the credentials in it', async () => {
    const output = await refusal({ HEARTH_DATA_DIR: dataDir, LLM_BASE_URL: 'ftp://user:hunter2@llm.example' });
    expect(output).toMatch(/^hearth: Invalid setting LLM_BASE_URL: .+ \(got "ftp:\/\/\[redacted\]@llm\.example"\)$/);
  }, 30_000);

  it('fails at once on a data directory that cannot be created, saying why', async () => {
    const output = await refusal({ HEARTH_DATA_DIR: '/proc/nope' });
    expect(output).toBe(
      'hearth: failed to start: cannot create the data directory /proc/nope/pgdata: /proc/nope: no such file or directory (ENOENT)',
    );
  }, 30_000);

  it.each([
    ['postgres://postgres:hunter2@127.0.0.1:1/hearth', '127.0.0.1:1: connection refused (ECONNREFUSED)'],
    ['postgres://postgres:hunter2@no-such-host.invalid/hearth', 'no-such-host.invalid:5432: no such host (ENOTFOUND)'],
  ])(
    'names the cause when PostgreSQL cannot be reached: %s',
    async (url, reason) => {
      const output = await refusal({ HEARTH_DATA_DIR: dataDir, DATABASE_URL: url });
      expect(output).toBe(`hearth: failed to start: cannot connect to PostgreSQL at ${reason}`);
    },
    30_000,
  );

  it('says so when PostgreSQL does not answer in time', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const output = await refusal({
        HEARTH_DATA_DIR: dataDir,
        DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${port}/hearth`,
        DATABASE_CONNECT_TIMEOUT_SECONDS: '1',
      });
      expect(output).toBe(
        `hearth: failed to start: cannot connect to PostgreSQL at 127.0.0.1:${port}: no answer within 1 s (CONNECT_TIMEOUT)`,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  }, 30_000);

  const postgresUrl = process.env.TEST_DATABASE_URL;
  it.runIf(postgresUrl).each([
    [
      'database',
      'hearth_no_such_database',
      'database missing: database "hearth_no_such_database" does not exist (3D000)',
    ],
    ['user', 'hearth_no_such_role', 'authentication failed: role "hearth_no_such_role" does not exist (28000)'],
  ])(
    'names the cause when PostgreSQL refuses the connection: unknown %s',
    async (part, name, reason) => {
      const url = new URL(postgresUrl ?? '');
      if (part === 'database') url.pathname = `/${name}`;
      else url.username = name;
      url.password = 'hunter2';
      const output = await refusal({ HEARTH_DATA_DIR: dataDir, DATABASE_URL: url.href });
      expect(output).toBe(
        `hearth: failed to start: cannot connect to PostgreSQL at ${url.hostname}:${url.port}: ${reason}`,
      );
    },
    30_000,
  );
});
