import { type LlmTestServer, startLlmTestServer } from '@hearth/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRun } from '../support/run-events';
import { signedInClient, startTestServer, type TestServer, testLlmClient } from '../support/test-server';

const TOKEN = 'metrics-token-0123456789';

/** The value of one sample in Prometheus's text format, or undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe('metrics behind a token on the public port', () => {
  let llm: LlmTestServer;
  let server: TestServer;
  const scrape = async () => {
    const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };

  beforeAll(async () => {
    llm = await startLlmTestServer({
      // "hold on" keeps its run waiting for a first token until it is cancelled.
      respond: (request) => ({
        text: 'one two three',
        usage: { promptTokens: 40, completionTokens: 3 },
        ttftMs: JSON.stringify(request.messages).includes('hold on') ? 60_000 : 5,
      }),
    });
    server = await startTestServer({
      store: { kind: 'pglite-memory' },
      llm: testLlmClient(llm),
      env: { METRICS_TOKEN: TOKEN, LLM_MAX_OUTPUT_TOKENS: '50' },
    });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
  });

  it('refuses a scrape without the token, or with another', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer not-the-token-at-all' },
      { authorization: TOKEN },
    ];
    for (const headers of attempts) {
      const response = await fetch(`${server.url}/metrics`, { headers });
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain('hearth_');
    }
  });

  it('counts requests by procedure, runs by status, time to first token, tokens and cost by model, budget refusals', async () => {
    const client = await signedInClient(server, 'metrics');
    const sent = await client.chat.send.mutate({ text: 'count me' });
    const outcome = await collectRun(client, sent.runId);
    expect(outcome.terminal?.type).toBe('run.completed');
    const model = outcome.events[0]?.data.type === 'run.started' ? outcome.events[0].data.model : '';

    await expect(client.chat.send.mutate({ text: ' ' })).rejects.toThrow();
    await client.user.setBudget.mutate({ limitUsd: 0, period: 'month' });
    const refused = await client.chat.send.mutate({ text: 'no money left' });
    expect((await collectRun(client, refused.runId)).terminal).toMatchObject({ appCode: 'BUDGET_EXCEEDED' });

    const text = await scrape();
    expect(
      sample(text, 'hearth_http_requests_total', { route: '/trpc/auth.register', method: 'POST', status: '200' }),
    ).toBe(1);
    expect(sample(text, 'hearth_http_request_duration_seconds_count', { route: '/trpc/chat.send' })).toBe(3);
    expect(sample(text, 'hearth_runs_started_total', { model })).toBe(2);
    expect(sample(text, 'hearth_runs_total', { status: 'completed', model })).toBe(1);
    expect(sample(text, 'hearth_run_first_token_seconds_count', { model })).toBe(1);
    expect(sample(text, 'hearth_run_duration_seconds_count', { status: 'completed' })).toBe(1);
    expect(sample(text, 'hearth_tokens_total', { model, kind: 'completion' })).toBe(3);
    expect(sample(text, 'hearth_tokens_total', { model, kind: 'prompt' })).toBeGreaterThan(0);
    const { totals } = await client.user.usage.query({});
    expect(sample(text, 'hearth_cost_usd_total', { model })).toBeCloseTo(totals.costUsd, 9);
    expect(totals.costUsd).toBeGreaterThan(0);
    expect(sample(text, 'hearth_upstream_first_event_seconds_count', { model })).toBe(1);
    expect(sample(text, 'hearth_budget_refusals_total')).toBe(1);
    expect(sample(text, 'hearth_runs_total', { status: 'failed', model })).toBe(1);
    expect(sample(text, 'hearth_api_errors_total', { code: 'INVALID_INPUT' })).toBe(1);
    expect(sample(text, 'hearth_active_reservations')).toBe(0);
    expect(sample(text, 'hearth_store_ping_seconds')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeDefined();
    // Routes are patterns or procedure names: no id makes a series of its own.
    expect(text).not.toContain(sent.runId);
  });

  it('shows the event streams open now', async () => {
    const client = await signedInClient(server, 'metrics-streams');
    const sent = await client.chat.send.mutate({ text: 'hold on' });
    const open = collectRun(client, sent.runId, { timeoutMs: 30_000 });
    let seen: number | undefined;
    for (let i = 0; i < 100 && seen !== 1; i += 1) {
      seen = sample(await scrape(), 'hearth_open_streams');
      if (seen !== 1) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(seen).toBe(1);
    await client.chat.cancel.mutate({ runId: sent.runId });
    expect((await open).terminal?.type).toBe('run.cancelled');
    expect(sample(await scrape(), 'hearth_open_streams')).toBe(0);
  });
});

describe('metrics on a port of their own', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store: { kind: 'pglite-memory' }, env: { METRICS_PORT: '0' } });
  });
  afterAll(() => server?.close());

  it('serves /metrics there without a token, and not on the public port', async () => {
    expect(server.metricsUrl).not.toBeNull();
    const response = await fetch(server.metricsUrl ?? '');
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('hearth_runs_total');
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  });
});

describe('metrics when neither METRICS_PORT nor METRICS_TOKEN is set', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ store: { kind: 'pglite-memory' } });
  });
  afterAll(() => server?.close());

  it('are not served at all', async () => {
    expect(server.metricsUrl).toBeNull();
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  });
});
