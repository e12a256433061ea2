import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testDatabases } from '@hearth/core/testing';
import { createHearthClient } from '@hearth/sdk';
import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRun } from '../support/run-events';
import { type Started, startProcess, stop } from '../support/server-process';
import { PASSWORD, TEST_JWT_SECRET, uniqueEmail } from '../support/test-server';

const postgres = testDatabases().find((db) => db.name === 'postgres');
const stores = [
  { name: 'PGlite on disk', env: (): Record<string, string> => ({}) },
  ...(postgres && postgres.location.kind === 'postgres'
    ? [{ name: 'PostgreSQL', env: () => ({ DATABASE_URL: (postgres.location as { url: string }).url }) }]
    : []),
];

function killed(server: Started): Promise<void> {
  return new Promise((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

// kill -9 mid-answer, then start again on the same store: the run is ended at once, the text
// streamed before the crash is kept as its partial answer, and its reservation is settled.
describe.each(stores)('a server killed mid-stream and restarted, on $name', ({ env: storeEnv }) => {
  let llm: LlmTestServer;
  let dataDir: string;
  let env: Record<string, string>;
  let server: Started | undefined;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    dataDir = mkdtempSync(join(tmpdir(), 'hearth-crash-'));
    env = {
      HEARTH_DATA_DIR: dataDir,
      JWT_SECRET: TEST_JWT_SECRET,
      LLM_BASE_URL: llm.url,
      LLM_MODEL: 'test-model',
      MODEL_PRICES_FILE: fileURLToPath(new URL('../fixtures/model-prices.json', import.meta.url)),
      // Its runs are recognised as its own when it comes back under the same name.
      INSTANCE_ID: `crash-test-${process.pid}`,
      ...storeEnv(),
    };
  });
  afterAll(async () => {
    if (server) await stop(server.child);
    await llm?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('ends the run at once, keeps the streamed text, and settles its reservation', async () => {
    server = await startProcess(env);
    let client = createHearthClient({ url: server.url });
    await client.auth.register.mutate({ email: uniqueEmail('crash'), password: PASSWORD });
    await client.user.setBudget.mutate({ limitUsd: 1, period: 'month' });
    const words = Array.from({ length: 400 }, (_, i) => `w${i}`);
    llm.enqueue({ text: words.join(' '), tokenIntervalMs: 10 });
    const sent = await client.chat.send.mutate({ text: 'a long answer, please' });
    // Past the first partial save (one a second), well before the answer's end (~4 s).
    const before = await collectRun(client, sent.runId, {
      stopAfter: (e) => e.data.type === 'text.delta' && e.data.text.includes('w200'),
    });
    expect(before.terminal).toBeUndefined();
    await killed(server);

    server = await startProcess(env);
    client = createHearthClient({ url: server.url, session: client.session });

    const { terminal } = await collectRun(client, sent.runId);
    expect(terminal).toMatchObject({ type: 'run.failed', retryable: true, partial: { status: 'incomplete' } });
    const partial = terminal?.type === 'run.failed' ? terminal.partial : null;
    expect(partial?.content.length).toBeGreaterThan(0);
    expect(before.text.startsWith(partial?.content ?? '-')).toBe(true);

    const { messages } = await client.chat.history.query({ conversationId: sent.conversationId });
    expect(messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'incomplete'],
    ]);
    expect(messages[1]?.content).toBe(partial?.content);

    const budget = await client.user.budget.query();
    expect(budget.reservedUsd).toBe(0);
    expect(budget.spentUsd).toBeGreaterThan(0);

    // The conversation is free again without waiting for any sweep.
    llm.enqueue({ text: 'back again', tokenIntervalMs: 0 });
    const next = await client.chat.send.mutate({ text: 'are you there?', conversationId: sent.conversationId });
    expect((await collectRun(client, next.runId)).terminal).toMatchObject({ type: 'run.completed' });
  }, 60_000);
});
