import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHearthClient } from '@hearth/sdk';
import { healthProbe } from './health-probe';
import { startLlmProcess } from './llm-process';
import { reportFigures } from './results';
import { startBenchedServer } from './server-process';
import { round } from './stats';
import { startStreamReaders } from './stream-readers';

/**
 * `pnpm bench:streams`: BENCH_OPEN_STREAMS `chat.events` streams held open on RUNS slow runs (a word
 * every SLOW_TOKEN_MS), opened BATCH at once, while a probe in this process (not the readers')
 * asks /healthz. Prints and writes to bench-results/open-streams.json: the server's heap and RSS per
 * open stream, its CPU while holding them, and /healthz p50 / p99 while idle, while a batch opens
 * and while the streams are held — against issue 20's targets (≤ 60 KB a stream, p99 ≤ 50 ms).
 */
const STREAMS = Number(process.env.BENCH_OPEN_STREAMS ?? 10_000);
const BATCH = Number(process.env.BENCH_OPEN_BATCH ?? 1_000);
const RUNS = Number(process.env.BENCH_OPEN_RUNS ?? 10);
const HOLD_SECONDS = Number(process.env.BENCH_HOLD_SECONDS ?? 15);
const SLOW_TOKEN_MS = Number(process.env.BENCH_SLOW_TOKEN_MS ?? 2_000);
const OPEN_TIMEOUT_SECONDS = Number(process.env.BENCH_OPEN_TIMEOUT_SECONDS ?? 120);
const METRICS_TOKEN = 'bench-metrics-token-0123456789';
const TARGETS = { bytesPerStream: 60_000, healthzP99Ms: 50 };

type Phase = 'idle' | 'opening' | 'holding';

/** The server's V8 heap in use, from its own Prometheus metrics (prom-client's default ones). */
async function heapUsedBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const value = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
  if (value === undefined) throw new Error('no nodejs_heap_size_used_bytes in /metrics');
  return Number(value);
}

async function main(): Promise<void> {
  const holdForSeconds = OPEN_TIMEOUT_SECONDS + HOLD_SECONDS + 60;
  const words = Array.from({ length: Math.ceil((holdForSeconds * 1000) / SLOW_TOKEN_MS) }, (_, i) => `w${i}`);
  const llm = await startLlmProcess({ text: 'warm up', ttftMs: 0, tokenIntervalMs: 0 });
  const readers = await startStreamReaders();
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-bench-'));
  const server = await startBenchedServer({
    HEARTH_DATA_DIR: dataDir,
    LLM_BASE_URL: llm.url,
    LLM_API_KEY: 'bench',
    LLM_MODEL: 'gpt-4o-mini',
    JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    METRICS_TOKEN,
    // One user holds every stream, over RUNS runs at once: the caps make room for the load under test.
    STREAMS_PER_USER_MAX: String(STREAMS + 10),
    STREAMS_PER_RUN_MAX: String(Math.ceil(STREAMS / RUNS) + 10),
    RUNS_PER_USER_MAX: String(RUNS + 1),
    SENDS_PER_MINUTE_MAX: '100000',
  });
  try {
    const client = createHearthClient({ url: server.url });
    await client.auth.register.mutate({ email: `streams-${Date.now()}@example.com`, password: 'bench passphrase 1' });
    const warm = await client.chat.send.mutate({ text: 'hi' });
    for await (const _ of client.streamRun(warm.runId));
    await llm.pace({ text: words.join(' '), ttftMs: 0, tokenIntervalMs: SLOW_TOKEN_MS });
    const runIds: string[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const { id } = await client.chat.createConversation.mutate({});
      runIds.push((await client.chat.send.mutate({ text: 'talk slowly for a long time', conversationId: id })).runId);
    }
    const accessToken = client.session?.accessToken;
    if (!accessToken) throw new Error('the bench client has no session');

    const probe = healthProbe<Phase>(server.url, 'idle');
    await sleep(3_000);
    const baseline = { rssMiB: server.rssMiB(), heapBytes: await heapUsedBytes(server.url) };

    probe.setPhase('opening');
    const openStarted = performance.now();
    let counts = await readers.counts();
    for (let opened = 0; opened < STREAMS; opened += BATCH) {
      const batch = Math.min(BATCH, STREAMS - opened);
      for (let r = 0; r < RUNS; r += 1) {
        const share = Math.floor(batch / RUNS) + (r < batch % RUNS ? 1 : 0);
        if (share > 0) await readers.open({ url: server.url, accessToken, runId: runIds[r] ?? '', streams: share });
      }
      while (
        counts.established + counts.refused < opened + batch &&
        performance.now() - openStarted < OPEN_TIMEOUT_SECONDS * 1000
      ) {
        await sleep(50);
        counts = await readers.counts();
      }
    }
    const openSeconds = (performance.now() - openStarted) / 1000;

    probe.setPhase('holding');
    const cpuBefore = server.cpuMs();
    const holdStarted = performance.now();
    await sleep(HOLD_SECONDS * 1000);
    const holdingCores = (server.cpuMs() - cpuBefore) / (performance.now() - holdStarted);
    const holding = { rssMiB: server.rssMiB(), heapBytes: await heapUsedBytes(server.url) };
    const healthz = await probe.stop();
    counts = await readers.counts();
    for (const runId of runIds) await client.chat.cancel.mutate({ runId });

    const held = Math.max(1, counts.established);
    const rssBytesPerStream = ((holding.rssMiB - baseline.rssMiB) * 1024 * 1024) / held;
    const heapBytesPerStream = (holding.heapBytes - baseline.heapBytes) / held;
    const figures = {
      machine: { cpus: cpus().length, node: process.version },
      setup: { streams: STREAMS, batch: BATCH, runs: RUNS, slowTokenMs: SLOW_TOKEN_MS, holdSeconds: HOLD_SECONDS },
      opening: { established: counts.established, refused: counts.refused, seconds: round(openSeconds) },
      perStream: {
        heapKB: round(heapBytesPerStream / 1000, 1),
        rssKB: round(rssBytesPerStream / 1000, 1),
        targetKB: TARGETS.bytesPerStream / 1000,
        met: Math.max(heapBytesPerStream, rssBytesPerStream) <= TARGETS.bytesPerStream,
      },
      server: {
        rssMiB: {
          baseline: round(baseline.rssMiB, 1),
          holding: round(holding.rssMiB, 1),
          peak: round(server.peakRssMiB(), 1),
        },
        heapMiB: { baseline: round(baseline.heapBytes / 2 ** 20, 1), holding: round(holding.heapBytes / 2 ** 20, 1) },
        coresWhileHolding: round(holdingCores, 2),
      },
      healthzMs: {
        idle: healthz('idle'),
        opening: healthz('opening'),
        holding: healthz('holding'),
        targetP99: TARGETS.healthzP99Ms,
        met: healthz('opening').p99 <= TARGETS.healthzP99Ms && healthz('holding').p99 <= TARGETS.healthzP99Ms,
      },
    };
    reportFigures('open-streams', figures);
  } finally {
    await readers.close();
    await server.stop();
    await llm.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
