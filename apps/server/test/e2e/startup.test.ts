import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHearthClient } from '@hearth/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { collectRun } from '../support/run-events';
import { PASSWORD } from '../support/test-server';

const serverDir = resolve(import.meta.dirname, '../..');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Runs `src/main.ts` as `pnpm start` does, in its own process. */
function startProcess(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [tsxCli, 'src/main.ts'], {
    cwd: serverDir,
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolvePromise({ child, url: match[1], output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(Object.assign(new Error(`exited with ${code}: ${output}`), { code, output })));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    child.once('exit', (code) => done(code));
    child.kill('SIGTERM');
  });
}

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
      expect(second.output()).toContain('marked runs left running');
    } finally {
      await stop(second.child);
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
