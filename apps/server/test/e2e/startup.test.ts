import { mkdtempSync, rmSync, statSync } from 'node:fs';
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
