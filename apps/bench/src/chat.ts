import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHearthClient, type HearthClient } from '@hearth/sdk';
import OpenAI from 'openai';
import { measureLedger } from './ledger';
import { type Pacing, startLlmProcess } from './llm-process';
import { comparison, printComparison } from './peer-comparison';
import { startPeerGateway, timeToFirstOk } from './peer-gateway';
import { reportFigures } from './results';
import { type BenchedServer, startBenchedServer } from './server-process';
import { percentile, round } from './stats';

/**
 * `pnpm bench:chat`: N concurrent users chat through the SDK with a Hearth server (its own process,
 * embedded default) in front of the LLM test server (a process of its own, like a remote provider).
 * Prints and writes to bench-results/chat.json: the time to first token Hearth adds over calling
 * the same server directly, with answers of a usual length and with short ones (which make the
 * same 50 streams ask for many more runs a second); completed runs and delivered tokens per second
 * against a zero-latency server; what reserve + settle cost per model step; where the CPU went;
 * the server's RSS once started and at its peak.
 */
const USERS = Number(process.env.BENCH_USERS ?? 50);
const TTFT_MS = Number(process.env.BENCH_TTFT_MS ?? 100);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 200);
const SHORT_TOKENS = Number(process.env.BENCH_SHORT_TOKENS ?? 20);
const TOKEN_INTERVAL_MS = Number(process.env.BENCH_TOKEN_INTERVAL_MS ?? 10);
// 400 times to first token: the p99 is then the fourth worst, not the second.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const THROUGHPUT_SECONDS = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? 8);
/**
 * BENCH_INSTANCES=2: that many servers on one PostgreSQL (BENCH_DATABASE_URL) and one Redis
 * (BENCH_REDIS_URL), each user sending to one instance and following its runs on the next one,
 * so every answer streams across instances.
 */
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14';
/** The peer gateway (BENCH_PEER=0 leaves it out), run beside one Hearth instance. */
const WITH_PEER = process.env.BENCH_PEER !== '0' && INSTANCES === 1;
/** Interleaved repetitions of each peer-compared phase; the figures of record are their medians. */
const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 3);

const words = (count: number) => Array.from({ length: count }, (_, i) => `token${i}`).join(' ');
const paced = (tokens: number): Pacing => ({
  text: words(tokens),
  ttftMs: TTFT_MS,
  tokenIntervalMs: TOKEN_INTERVAL_MS,
});

/**
 * Runs `turn` for every user in a closed loop (each user sends again as soon as an answer ends) for
 * `rounds` turns each, starting the users spread over one upstream answer's duration: 50 streams
 * stay open at every moment, as with 50 people chatting, instead of 50 sends landing in one millisecond.
 */
async function steadyLoad<T>(pacing: Pacing, rounds: number, turn: (user: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  const spreadMs = pacing.ttftMs + pacing.text.split(' ').length * pacing.tokenIntervalMs;
  await Promise.all(
    Array.from({ length: USERS }, async (_, user) => {
      await sleep((spreadMs * user) / USERS);
      for (let r = 0; r < rounds; r += 1) results.push(await turn(user));
    }),
  );
  return results;
}

/** CPU each process used over a phase, as a share of one core. */
function cpuMeter(sources: Record<string, () => number>) {
  const started = performance.now();
  const before = Object.fromEntries(Object.entries(sources).map(([name, read]) => [name, read()]));
  return () => {
    const elapsed = performance.now() - started;
    return Object.fromEntries(
      Object.entries(sources).map(([name, read]) => [name, round((read() - (before[name] ?? 0)) / elapsed, 2)]),
    );
  };
}

const ttftFigures = (values: number[]) => ({
  p50: round(percentile(values, 50)),
  p90: round(percentile(values, 90)),
  p99: round(percentile(values, 99)),
});

async function directTtft(client: OpenAI): Promise<number> {
  const started = performance.now();
  const stream = await client.chat.completions.create({
    model: 'test-model',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let ttft = Number.NaN;
  for await (const chunk of stream) {
    if (Number.isNaN(ttft) && chunk.choices[0]?.delta.content) ttft = performance.now() - started;
  }
  return ttft;
}

interface BenchUser {
  /** Sends. */
  client: HearthClient;
  /** Follows the runs: the same client, or with several instances one on the next instance. */
  follower: HearthClient;
  conversationId: string;
}

/** One chat turn through the SDK: time to the first text delta, and the deltas delivered. */
function turn({ client, follower, conversationId }: BenchUser): Promise<{ ttft: number; tokens: number }> {
  const started = performance.now();
  return client.chat.send.mutate({ text: 'hi', conversationId }).then(
    ({ runId }) =>
      new Promise((resolvePromise, reject) => {
        let ttft = Number.NaN;
        let tokens = 0;
        const subscription = follower.chat.events.subscribe(
          { runId },
          {
            onData: ({ data }) => {
              if (data.type === 'text.delta') {
                if (Number.isNaN(ttft)) ttft = performance.now() - started;
                // The test server's tokens are words; Hearth may merge a burst of them into one delta.
                tokens += data.text.match(/\S+/g)?.length ?? 0;
              }
              if (data.type === 'run.completed' || data.type === 'run.failed' || data.type === 'run.cancelled') {
                subscription.unsubscribe();
                if (data.type === 'run.completed') resolvePromise({ ttft, tokens });
                else reject(new Error(`run ended with ${data.type}`));
              }
            },
            onError: reject,
          },
        );
      }),
  );
}

async function users(urls: string[]): Promise<BenchUser[]> {
  return Promise.all(
    Array.from({ length: USERS }, async (_, i) => {
      const url = (n: number) => urls[n % urls.length] ?? '';
      const client = createHearthClient({ url: url(i) });
      await client.auth.register.mutate({
        email: `bench-${Date.now()}-${i}@example.com`,
        password: 'bench passphrase 1',
      });
      const { id } = await client.chat.createConversation.mutate({});
      const follower = urls.length > 1 ? createHearthClient({ url: url(i + 1), session: client.session }) : client;
      return { client, follower, conversationId: id };
    }),
  );
}

/** The instances as one: CPU and memory summed over their processes. */
function together(servers: BenchedServer[]) {
  const sum = (read: (server: BenchedServer) => number) => () =>
    servers.reduce((total, server) => total + read(server), 0);
  return {
    urls: servers.map((server) => server.url),
    cpuMs: sum((server) => server.cpuMs()),
    mainThreadCpuMs: sum((server) => server.mainThreadCpuMs()),
    rssMiB: sum((server) => server.rssMiB()),
    peakRssMiB: sum((server) => server.peakRssMiB()),
    stop: () => Promise.all(servers.map((server) => server.stop())),
  };
}

const median = (values: number[]) => percentile(values, 50);

/** Starts a server and times it from spawning to its first 200 on /healthz. */
async function timedStart(env: Record<string, string>): Promise<{ server: BenchedServer; coldStartMs: number }> {
  const started = performance.now();
  const server = await startBenchedServer(env);
  return { server, coldStartMs: await timeToFirstOk(`${server.url}/healthz`, started, server.child) };
}

/** Every user in a closed loop for THROUGHPUT_SECONDS: completed turns, tokens, and the CPU `cpuMs` counted. */
async function throughputPass(turnOf: (user: number) => Promise<number>, cpuMs: () => number) {
  let completed = 0;
  let delivered = 0;
  const deadline = performance.now() + THROUGHPUT_SECONDS * 1000;
  const started = performance.now();
  const cpuBefore = cpuMs();
  await Promise.all(
    Array.from({ length: USERS }, async (_, user) => {
      while (performance.now() < deadline) {
        delivered += await turnOf(user);
        completed += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    completed,
    delivered,
    requestsPerSecond: completed / seconds,
    cpuMsPerRequest: (cpuMs() - cpuBefore) / completed,
  };
}

/** One streamed completion through an OpenAI-compatible endpoint: its tokens (the test server's words). */
async function streamedTokens(client: OpenAI): Promise<number> {
  const stream = await client.chat.completions.create({
    model: 'test-model',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let tokens = 0;
  for await (const chunk of stream) tokens += chunk.choices[0]?.delta.content?.match(/\S+/g)?.length ?? 0;
  return tokens;
}

async function main(): Promise<void> {
  const llm = await startLlmProcess(paced(TOKENS));
  if (INSTANCES > 1 && !process.env.BENCH_DATABASE_URL) {
    throw new Error('BENCH_INSTANCES > 1 needs BENCH_DATABASE_URL (a PostgreSQL database the instances share)');
  }
  const dataDirs = Array.from({ length: INSTANCES }, () => mkdtempSync(join(tmpdir(), 'hearth-bench-')));
  const envOf = (dataDir: string, i: number): Record<string, string> => ({
    HEARTH_DATA_DIR: dataDir,
    ...(INSTANCES > 1 ? { REDIS_URL, INSTANCE_ID: `bench-${i}` } : {}),
    LLM_BASE_URL: llm.url,
    LLM_API_KEY: 'bench',
    // A model from the built-in price table, so every step is reserved and settled as in production.
    LLM_MODEL: 'gpt-4o-mini',
    JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    LOGIN_MAX_ATTEMPTS_PER_IP: '100000',
    REGISTER_MAX_PER_IP: '100000',
    // The throughput phase sends back to back, far past a person's pace.
    SENDS_PER_MINUTE_MAX: '100000',
    // BENCH_DATABASE_URL measures the production store (PostgreSQL) instead of the embedded PGlite.
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
    // BENCH_STREAM_BATCH_MS measures another delta batching window than the server's default.
    ...(process.env.BENCH_STREAM_BATCH_MS ? { STREAM_BATCH_MS: process.env.BENCH_STREAM_BATCH_MS } : {}),
  });
  const onlyDataDir = dataDirs[0] ?? '';

  // The peer's cold starts and Hearth's, interleaved; Hearth's first on a new data directory, then on that one.
  const coldStarts = { peer: [] as number[], hearth: [] as number[] };
  let firstStart: { coldStartMs: number; peakRssMiB: number } | null = null;
  if (WITH_PEER) {
    const first = await timedStart(envOf(onlyDataDir, 0));
    firstStart = { coldStartMs: first.coldStartMs, peakRssMiB: first.server.peakRssMiB() };
    await first.server.stop();
    for (let r = 0; r < REPETITIONS; r += 1) {
      const peer = await startPeerGateway();
      coldStarts.peer.push(peer.coldStartMs);
      await peer.stop();
      const again = await timedStart(envOf(onlyDataDir, 0));
      coldStarts.hearth.push(again.coldStartMs);
      await again.server.stop();
    }
  }
  const servers = await Promise.all(dataDirs.map((dataDir, i) => startBenchedServer(envOf(dataDir, i))));
  const peer = WITH_PEER ? await startPeerGateway() : null;
  const server = together(servers);
  try {
    const openai = new OpenAI({ baseURL: llm.url, apiKey: 'bench', maxRetries: 0 });
    const throughPeer = peer?.client(llm.url) ?? null;
    // What a server that has just started holds: on a new data directory, or (with the peer) an existing one.
    await sleep(1000);
    const startRssMiB = server.rssMiB();
    const peerIdleRssMiB = peer?.rssMiB() ?? Number.NaN;
    const sessions = await users(server.urls);
    const sessionOf = (user: number) => {
      const session = sessions[user];
      if (!session) throw new Error(`no session for user ${user}`);
      return session;
    };
    await Promise.all(sessions.map((s) => turn(s))); // warm-up
    if (throughPeer) await Promise.all(sessions.map(() => directTtft(throughPeer)));
    const clientCpu = () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    };
    const cpuSources = {
      server: server.cpuMs,
      serverEventLoop: server.mainThreadCpuMs,
      clients: clientCpu,
      llm: llm.cpuMs,
    };
    const added = (through: number[], direct: number[]) => ({
      p50: round(percentile(through, 50) - percentile(direct, 50)),
      p90: round(percentile(through, 90) - percentile(direct, 90)),
      p99: round(percentile(through, 99) - percentile(direct, 99)),
    });
    /** The same load straight at the LLM test server, through the peer, then through Hearth: times to first token. */
    const compare = async (pacing: Pacing, rounds: number, viaPeer: OpenAI | null) => {
      await llm.pace(pacing);
      const direct = await steadyLoad(pacing, rounds, () => directTtft(openai));
      const peerTtft = viaPeer ? await steadyLoad(pacing, rounds, () => directTtft(viaPeer)) : [];
      const cpu = cpuMeter(cpuSources);
      const hearth = (await steadyLoad(pacing, rounds, (user) => turn(sessionOf(user)))).map((result) => result.ttft);
      return {
        ttftMs: { direct: ttftFigures(direct), hearth: ttftFigures(hearth) },
        addedTtftMs: added(hearth, direct),
        ...(viaPeer ? { peerAddedTtftMs: added(peerTtft, direct) } : {}),
        cpuCores: cpu(),
      };
    };
    // Repetitions interleave the peer and Hearth, so a drift in the machine's speed reaches both alike.
    const usualRuns = [];
    for (let r = 0; r < (WITH_PEER ? REPETITIONS : 1); r += 1)
      usualRuns.push(await compare(paced(TOKENS), ROUNDS, throughPeer));
    const usual = usualRuns[usualRuns.length - 1];
    if (!usual) throw new Error('no run of the usual load');
    const short = await compare(paced(SHORT_TOKENS), Math.ceil((ROUNDS * TOKENS) / SHORT_TOKENS / 2), null);

    await llm.pace({ text: words(SHORT_TOKENS), ttftMs: 0, tokenIntervalMs: 0 });
    const peerPasses = [];
    const hearthPasses = [];
    let cpuCores: Record<string, number> = {};
    let benchCpuMsPerRun = 0;
    for (let r = 0; r < (WITH_PEER ? REPETITIONS : 1); r += 1) {
      if (peer && throughPeer) peerPasses.push(await throughputPass(() => streamedTokens(throughPeer), peer.cpuMs));
      const throughputCpu = cpuMeter(cpuSources);
      const clientCpuBefore = clientCpu();
      const pass = await throughputPass(async (user) => (await turn(sessionOf(user))).tokens, server.cpuMs);
      hearthPasses.push(pass);
      cpuCores = throughputCpu();
      benchCpuMsPerRun = (clientCpu() - clientCpuBefore) / pass.completed;
    }
    const hearthPass = hearthPasses[hearthPasses.length - 1];
    if (!hearthPass) throw new Error('no throughput pass');

    const ledger = await measureLedger(1_000);
    const addedP50 = usual.addedTtftMs.p50;
    const hearthFigures = {
      addedTtftP50Ms: median(usualRuns.map((run) => run.addedTtftMs.p50)),
      addedTtftP99Ms: median(usualRuns.map((run) => run.addedTtftMs.p99)),
      serverCpuMsPerRequest: median(hearthPasses.map((pass) => pass.cpuMsPerRequest)),
      requestsPerSecond: median(hearthPasses.map((pass) => pass.requestsPerSecond)),
      rssIdleMiB: startRssMiB,
      rssPeakMiB: server.peakRssMiB(),
      coldStartMs: median(coldStarts.hearth),
    };
    const figures = {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      setup: {
        users: USERS,
        upstreamTtftMs: TTFT_MS,
        tokensPerAnswer: TOKENS,
        upstreamTokenIntervalMs: TOKEN_INTERVAL_MS,
        turnsPerUser: ROUNDS,
        repetitions: WITH_PEER ? REPETITIONS : 1,
        store: process.env.BENCH_DATABASE_URL ? 'postgres' : 'pglite',
        instances: INSTANCES,
      },
      // 50 streams open at every moment, each answer TOKENS long (the last repetition).
      ...usual,
      // The same 50 streams with SHORT_TOKENS-token answers: about ten times the runs per second.
      shortAnswers: { tokensPerAnswer: SHORT_TOKENS, ...short },
      throughput: {
        seconds: round(hearthPass.seconds),
        completedRunsPerSecond: round(hearthFigures.requestsPerSecond, 1),
        deliveredTokensPerSecond: round(hearthPass.delivered / hearthPass.seconds, 0),
        // Where the two cores went: the server, and this process (the SDK clients and the LLM test server).
        serverCpuMsPerRun: round(hearthFigures.serverCpuMsPerRequest, 2),
        benchCpuMsPerRun: round(benchCpuMsPerRun, 2),
        cpuCores,
      },
      ledgerMs: {
        ...ledger,
        reserveShareOfAddedTtftP50: addedP50 > 0 ? round(ledger.reserve.p50 / addedP50, 4) : null,
      },
      serverStartRssMiB: round(startRssMiB, 1),
      serverPeakRssMiB: round(server.peakRssMiB(), 1),
      ...(peer && firstStart
        ? {
            peer: comparison(
              {
                addedTtftP50Ms: median(usualRuns.map((run) => run.peerAddedTtftMs?.p50 ?? Number.NaN)),
                addedTtftP99Ms: median(usualRuns.map((run) => run.peerAddedTtftMs?.p99 ?? Number.NaN)),
                serverCpuMsPerRequest: median(peerPasses.map((pass) => pass.cpuMsPerRequest)),
                requestsPerSecond: median(peerPasses.map((pass) => pass.requestsPerSecond)),
                rssIdleMiB: peerIdleRssMiB,
                rssPeakMiB: peer.peakRssMiB(),
                coldStartMs: median(coldStarts.peer),
              },
              hearthFigures,
              firstStart,
            ),
          }
        : {}),
    };
    reportFigures(INSTANCES > 1 ? `chat-${INSTANCES}-instances` : 'chat', figures);
    if (figures.peer) printComparison(figures.peer);
  } finally {
    await server.stop();
    await peer?.stop();
    await llm.close();
    for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
