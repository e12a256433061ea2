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
 * `pnpm bench:fanout`: one user opens STREAMS `chat.events` streams on one run while the run emits
 * about EVENTS_PER_SECOND events a second, and a probe asks /healthz all along. Prints and writes to
 * bench-results/fanout.json: how long the streams took to open, the /healthz latency while idle,
 * while they open and while the events flow, and the server's CPU per event published and per
 * event delivered to one subscriber. The stream readers and the LLM test server are processes of
 * their own, so neither their CPU nor their event loop is counted as the server's or the probe's.
 */
const STREAMS = Number(process.env.BENCH_STREAMS ?? 1_000);
const EVENTS_PER_SECOND = Number(process.env.BENCH_EVENTS_PER_SECOND ?? 20);
const FLOW_SECONDS = Number(process.env.BENCH_FLOW_SECONDS ?? 20);
const OPEN_TIMEOUT_SECONDS = Number(process.env.BENCH_OPEN_TIMEOUT_SECONDS ?? 40);
const IDLE_SECONDS = 2;
/** The run's first token waits this long, so the streams mostly open on a run that is not yet talking. */
const TTFT_MS = 3_000;

async function main(): Promise<void> {
  const runSeconds = TTFT_MS / 1000 + OPEN_TIMEOUT_SECONDS + FLOW_SECONDS + 10;
  const words = (count: number) => Array.from({ length: count }, (_, i) => `token${i}`).join(' ');
  const llm = await startLlmProcess({ text: 'warm up', ttftMs: 0, tokenIntervalMs: 0 });
  const readers = await startStreamReaders();
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-bench-'));
  const server = await startBenchedServer({
    HEARTH_DATA_DIR: dataDir,
    LLM_BASE_URL: llm.url,
    LLM_API_KEY: 'bench',
    LLM_MODEL: 'gpt-4o-mini',
    JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    // Every token its own event: EVENTS_PER_SECOND events a second reach each stream.
    STREAM_BATCH_MS: '0',
    // One user with STREAMS streams on one run is the load under test, so the caps make room for it.
    STREAMS_PER_USER_MAX: String(STREAMS + 10),
    STREAMS_PER_RUN_MAX: String(STREAMS + 10),
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  });
  try {
    const client = createHearthClient({ url: server.url });
    await client.auth.register.mutate({ email: `fanout-${Date.now()}@example.com`, password: 'bench passphrase 1' });
    const { id: conversationId } = await client.chat.createConversation.mutate({});
    // Warm-up: one short turn, so the first stream does not pay for the server's cold paths.
    const warm = await client.chat.send.mutate({ text: 'hi', conversationId });
    for await (const _ of client.streamRun(warm.runId));
    await llm.pace({
      text: words(Math.ceil(runSeconds * EVENTS_PER_SECOND)),
      ttftMs: TTFT_MS,
      tokenIntervalMs: 1000 / EVENTS_PER_SECOND,
    });
    const accessToken = client.session?.accessToken;
    if (!accessToken) throw new Error('the bench client has no session');

    const probe = healthProbe(server.url, 'idle' as 'idle' | 'opening' | 'flowing' | 'done');
    await sleep(IDLE_SECONDS * 1000);
    const { runId } = await client.chat.send.mutate({ text: 'talk for a long time', conversationId });
    probe.setPhase('opening');
    const openStarted = performance.now();
    await readers.open({ url: server.url, accessToken, runId, streams: STREAMS });
    let counts = await readers.counts();
    while (
      counts.established + counts.refused < STREAMS &&
      performance.now() - openStarted < OPEN_TIMEOUT_SECONDS * 1000
    ) {
      await sleep(100);
      counts = await readers.counts();
    }
    const openSeconds = (performance.now() - openStarted) / 1000;
    const publishedWhileOpening = counts.published;

    probe.setPhase('flowing');
    const flowStarted = performance.now();
    const serverCpuBefore = server.cpuMs();
    const eventLoopCpuBefore = server.mainThreadCpuMs();
    const readersCpuBefore = readers.cpuMs();
    const before = counts;
    await sleep(FLOW_SECONDS * 1000);
    const after = await readers.counts();
    const flowMs = performance.now() - flowStarted;
    const serverCpuMs = server.cpuMs() - serverCpuBefore;
    const eventLoopCpuMs = server.mainThreadCpuMs() - eventLoopCpuBefore;
    const readersCpuMs = readers.cpuMs() - readersCpuBefore;
    probe.setPhase('done');
    const healthz = await probe.stop();
    await client.chat.cancel.mutate({ runId });

    const published = after.published - before.published;
    const delivered = after.delivered - before.delivered;
    const figures = {
      machine: { cpus: cpus().length, node: process.version },
      setup: {
        streams: STREAMS,
        targetEventsPerSecond: EVENTS_PER_SECOND,
        flowSeconds: FLOW_SECONDS,
        store: process.env.BENCH_DATABASE_URL ? 'postgres' : 'pglite',
      },
      opening: {
        established: counts.established,
        refused: counts.refused,
        seconds: round(openSeconds),
        // Events the run had published by the time the last stream opened (0: the run was still quiet).
        eventsPublishedMeanwhile: publishedWhileOpening,
      },
      healthzMs: {
        idle: healthz('idle'),
        opening: healthz('opening'),
        flowing: healthz('flowing'),
      },
      flowing: {
        publishedEventsPerSecond: round(published / (flowMs / 1000), 1),
        deliveredEventsPerSecond: round(delivered / (flowMs / 1000), 0),
        serverCores: round(serverCpuMs / flowMs, 2),
        serverEventLoopCores: round(eventLoopCpuMs / flowMs, 2),
        readersCores: round(readersCpuMs / flowMs, 2),
        serverCpuMsPerPublishedEvent: published > 0 ? round(serverCpuMs / published, 2) : null,
        serverCpuUsPerDeliveredEvent: delivered > 0 ? round((serverCpuMs * 1000) / delivered, 1) : null,
      },
      serverPeakRssMiB: round(server.peakRssMiB(), 1),
    };
    reportFigures('fanout', figures);
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
