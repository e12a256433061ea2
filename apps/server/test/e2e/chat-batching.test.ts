import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatTurn } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

describe('text deltas under STREAM_BATCH_MS', () => {
  let llm: LlmTestServer;
  let server: TestServer;

  beforeAll(async () => {
    llm = await startLlmTestServer();
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      llm: testLlmClient(llm),
      env: { STREAM_BATCH_MS: '50' },
    });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  it('sends the first text at once and merges the rest per window, the whole answer intact', async () => {
    const client = await signedInClient(server, 'batching');
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
    llm.enqueue({ text: words.join(' '), tokenIntervalMs: 5 });
    const turn = await chatTurn(client, 'stream quickly');
    const deltas = turn.events.flatMap((e) => (e.data.type === 'text.delta' ? [e.data.text] : []));
    expect(deltas[0]).toBe('w0');
    // 200 ms of tokens in 50 ms windows: the first alone, then about four merged events, not 39.
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(deltas.length).toBeLessThanOrEqual(10);
    expect(turn.text).toBe(words.join(' '));
    expect(turn.terminal).toMatchObject({ type: 'run.completed', message: { content: words.join(' ') } });
  });
});
