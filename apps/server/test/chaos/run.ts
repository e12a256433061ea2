/**
 * The chaos suite (`pnpm test:chaos`): three instances on one PostgreSQL and one Redis behind a
 * round-robin proxy, many users chatting while instances, Redis, PostgreSQL connections and the
 * model fail under them; then the store is checked. Prints a table, writes JSON, exits 1 when an
 * invariant does not hold. Settings: CHAOS_DURATION_S, CHAOS_USERS, CHAOS_SEED, CHAOS_POSTGRES_URL,
 * CHAOS_REDIS_PORT, CHAOS_REDIS, CHAOS_REPORT (see docs/deploy.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type ChaosDatabase,
  type ChaosRedis,
  createDatabase,
  type Instance,
  killHard,
  startInstance,
  startRedis,
  stopGracefully,
  type UnexpectedExit,
} from './instances';
import { type ChaosLlm, startChaosLlm } from './llm-server';
import { type RoundRobinProxy, startRoundRobinProxy } from './proxy';
import { type ChaosUser, chatLoop, signUp } from './users';
import { activeRunsGone, type Verdict, verify } from './verify';

const setting = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

const DURATION_S = setting('CHAOS_DURATION_S', 60);
const USERS = Math.round(setting('CHAOS_USERS', 100));
const SEED = Math.round(setting('CHAOS_SEED', 1));
const REDIS_PORT = Math.round(setting('CHAOS_REDIS_PORT', 6390));
/**
 * CHAOS_REDIS=off runs the instances on PostgreSQL alone (no REDIS_URL, no Redis restart): a
 * subscriber on an instance that is not running the run then gets only its end, and the suite shows it.
 */
const WITH_REDIS = process.env.CHAOS_REDIS !== 'off';
const POSTGRES_URL = process.env.CHAOS_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REPORT = resolve(
  process.env.CHAOS_REPORT ?? fileURLToPath(new URL('../../../../bench-results/chaos.json', import.meta.url)),
);

/** The operator's limit for everyone; every third user sets a lower one, so some reach it in the run. */
const DEFAULT_BUDGET_USD = 0.01;
const OWN_LIMIT_USD = 0.002;
/** Long enough after the last send for a killed instance's runs to be ended (≤ 15 s) and followed. */
const DRAIN_S = 45;
const LLM_IDLE_TIMEOUT_MS = 1_500;

/** mulberry32: the fault plan and the users' pauses repeat for a seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FaultLog {
  at: number;
  fault: string;
  detail: string;
}

async function main(): Promise<number> {
  const random = seeded(SEED);
  const cleanups: Array<() => Promise<unknown>> = [];
  const faults: FaultLog[] = [];
  let chatStart = performance.now();
  const log = (fault: string, detail: string) => {
    const at = Math.round((performance.now() - chatStart) / 100) / 10;
    faults.push({ at, fault, detail });
    console.log(`  t=${at}s ${fault}: ${detail}`);
  };
  const onSignal = () => {
    void Promise.allSettled(cleanups.reverse().map((cleanup) => cleanup())).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const db: ChaosDatabase = await createDatabase(POSTGRES_URL);
    cleanups.push(() => db.drop());
    const redis: ChaosRedis | undefined = WITH_REDIS ? await startRedis(REDIS_PORT) : undefined;
    if (redis) cleanups.push(() => redis.close());
    const llm: ChaosLlm = await startChaosLlm({ stallRate: 0.04, resetRate: 0.04, tokenIntervalMs: 30, random });
    cleanups.push(() => llm.server.close());
    const proxy: RoundRobinProxy = await startRoundRobinProxy();
    cleanups.push(() => proxy.close());

    const env = (instanceId: string): Record<string, string> => ({
      DATABASE_URL: db.url,
      ...(redis ? { REDIS_URL: redis.url } : {}),
      INSTANCE_ID: instanceId,
      JWT_SECRET: 'chaos-suite-secret-that-is-long-enough-0123456789',
      LLM_BASE_URL: llm.server.url,
      LLM_MODEL: 'test-model',
      MODEL_PRICES_FILE: fileURLToPath(new URL('../fixtures/model-prices.json', import.meta.url)),
      LLM_IDLE_TIMEOUT_MS: String(LLM_IDLE_TIMEOUT_MS),
      LLM_CONNECT_TIMEOUT_MS: '3000',
      LLM_MAX_OUTPUT_TOKENS: '200',
      DEFAULT_BUDGET_USD: String(DEFAULT_BUDGET_USD),
      // One proxy address for every user: per-IP sign-up limits would count all of them as one.
      REGISTER_MAX_PER_IP: '1000000',
      LOGIN_MAX_ATTEMPTS_PER_IP: '100000',
      SENDS_PER_MINUTE_MAX: '100000',
      STREAMS_PER_USER_MAX: '100',
      // A title may outlive its run (a stalled title request waits out LLM_IDLE_TIMEOUT_MS); one still
      // in flight when the suite stops its instances would be counted as a reservation left behind.
      CONVERSATION_TITLES: 'off',
    });
    const instances: Instance[] = ['a', 'b', 'c'].map((name) => ({ name, process: undefined, stopping: false }));
    const unexpectedExits: UnexpectedExit[] = [];
    const relaunches = new Set<Promise<void>>();
    let closing = false;
    cleanups.push(async () => {
      closing = true;
      // A restart still under way would otherwise leave a server running after the suite.
      await Promise.allSettled(relaunches);
      await Promise.all(
        instances.map((instance) => {
          instance.stopping = true;
          return instance.process && stopGracefully(instance.process.child);
        }),
      );
    });
    const launch = async (instance: Instance, instanceId: string): Promise<void> => {
      const started = await startInstance(instance, env(instanceId), (exit) => {
        unexpectedExits.push(exit);
        proxy.remove(instance.name);
        log('died by itself', `instance ${instance.name} (${exit.signal ?? `exit ${exit.code}`}); restarting it`);
        if (closing) return;
        // As an orchestrator would: the rest of the run still has three instances.
        const relaunch = launch(instance, instanceId).catch((error: unknown) => console.error(error));
        relaunches.add(relaunch);
        void relaunch.finally(() => relaunches.delete(relaunch));
      });
      proxy.add(instance.name, started.url);
    };
    // The first start migrates the fresh database; the others find it migrated.
    const [first, ...others] = instances;
    if (!first) throw new Error('no instance');
    await launch(first, 'chaos-a');
    await Promise.all(others.map((instance) => launch(instance, `chaos-${instance.name}`)));
    console.log(`3 instances, Redis ${redis?.url ?? 'off'}, PostgreSQL database ${new URL(db.url).pathname.slice(1)}`);

    const setupStart = performance.now();
    const plans = Array.from({ length: USERS }, (_, index) => ({
      proxyUrl: proxy.url,
      index,
      ownLimitUsd: index % 3 === 0 ? OWN_LIMIT_USD : undefined,
      sendUntil: 0,
      giveUpAt: Number.POSITIVE_INFINITY,
      random,
    }));
    // Four sign-ups at a time: argon2 on 2 cores, before the clock starts.
    const users: ChaosUser[] = [];
    for (let i = 0; i < plans.length; i += 4) {
      users.push(...(await Promise.all(plans.slice(i, i + 4).map((plan) => signUp(plan)))));
    }
    console.log(`${users.length} users signed up in ${Math.round((performance.now() - setupStart) / 1000)} s`);

    chatStart = performance.now();
    const at = (share: number) => chatStart + share * DURATION_S * 1000;
    for (const user of users) {
      user.plan.sendUntil = at(1);
      user.plan.giveUpAt = at(1) + DRAIN_S * 1000;
    }
    console.log(`${USERS} users chat for ${DURATION_S} s; faults:`);
    const chatting = Promise.all(users.map((user) => chatLoop(user)));

    const killAndRestart = async (instance: Instance, newId: string | undefined) => {
      const child = instance.process?.child;
      if (!child) return;
      instance.stopping = true;
      proxy.remove(instance.name);
      await killHard(child);
      log('kill -9', `instance ${instance.name}`);
      await sleep(4_000);
      const instanceId = newId ?? `chaos-${instance.name}`;
      await launch(instance, instanceId);
      log(
        'restart',
        `instance ${instance.name} as ${instanceId}${newId ? ' (a new id: its runs end by heartbeat)' : ''}`,
      );
    };
    const terminate = async () => log('pg_terminate_backend', `${await db.terminateBackends()} connections`);
    const plan: Array<[number, () => Promise<unknown>]> = [
      [
        0.05,
        async () => {
          llm.setFaulty(true);
          log('LLM faults on', 'stall or reset 8% of streams');
        },
      ],
      [0.15, terminate],
      // Restarted under the same INSTANCE_ID: it ends the runs it left at start-up.
      [0.25, () => (instances[1] ? killAndRestart(instances[1], undefined) : Promise.resolve())],
      [
        0.45,
        async () => {
          if (!redis) return;
          await redis.restart(2_000);
          log('Redis restart', '2 s down');
        },
      ],
      [0.6, () => (instances[2] ? killAndRestart(instances[2], 'chaos-c-2') : Promise.resolve())],
      [0.75, terminate],
      [
        0.9,
        async () => {
          llm.setFaulty(false);
          log('LLM faults off', `${llm.counts.stalls} stalls, ${llm.counts.resets} resets`);
        },
      ],
    ];
    // Each fault at its own time, whether or not the one before is over (a restart takes seconds).
    const faulting = Promise.all(
      plan.map(async ([share, fault]) => {
        await sleep(Math.max(0, at(share) - performance.now()));
        await fault();
      }),
    );
    await Promise.all([chatting, faulting]);
    console.log(`chat over at t=${Math.round((performance.now() - chatStart) / 1000)} s; checking the store`);

    // A run whose end its instance could not store (PostgreSQL gone for longer than its retries)
    // has told its subscribers, and is swept within 15 s, as a killed instance's runs are.
    const sweptAfterMs = await activeRunsGone(db.sql, 15_000);
    console.log(`runs still active after the chat: ${sweptAfterMs === 0 ? 'none' : `gone after ${sweptAfterMs} ms`}`);
    const verdict = await verify(
      db.sql,
      users.map((user) => user.report),
      DEFAULT_BUDGET_USD * 1_000_000,
    );
    verdict.invariants.push({
      name: 'no instance died by itself',
      ok: unexpectedExits.length === 0,
      detail:
        unexpectedExits.map((exit) => `${exit.instance}: ${exit.signal ?? `exit ${exit.code}`}`).join(', ') || 'none',
    });
    const report = {
      settings: { durationS: DURATION_S, users: USERS, seed: SEED, instances: 3, redis: redis?.url ?? 'off' },
      ...verdict,
      faults,
      unexpectedExits,
      llm: llm.counts,
      proxy: proxy.counts,
      retried: sumCounts(users.map((user) => user.report.retried)),
      refused: sumCounts(users.map((user) => user.report.refused)),
    };
    printTable(verdict, report.proxy, report.llm, faults.length);
    for (const exit of unexpectedExits) {
      console.log(`\ninstance ${exit.instance} died by itself; its last lines:\n${exit.lastLines.join('\n')}`);
    }
    mkdirSync(dirname(REPORT), { recursive: true });
    writeFileSync(REPORT, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`written to ${REPORT}`);
    return verdict.invariants.every((invariant) => invariant.ok) ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
  }
}

function sumCounts(all: Array<Record<string, number>>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const counts of all) for (const [key, n] of Object.entries(counts)) sum[key] = (sum[key] ?? 0) + n;
  return sum;
}

function printTable(
  verdict: Verdict,
  proxy: RoundRobinProxy['counts'],
  llm: ChaosLlm['counts'],
  faultCount: number,
): void {
  const f = verdict.figures;
  const rows: Array<[string, string | number]> = [
    ['users (own lower limit)', `${f.users} (${f.usersWithOwnLimit})`],
    ['messages accepted / stored', `${f.acceptedMessages} / ${f.storedMessages}`],
    [
      'runs by status',
      Object.entries(f.runs)
        .map(([status, n]) => `${status} ${n}`)
        .join(', '),
    ],
    ...Object.entries(f.failedBy).map(([why, n]): [string, number] => [`  failed: ${why.slice(0, 60)}`, n]),
    ['runs not ended', f.nonTerminalRuns],
    ['reservations left', `${f.reservationsLeft} (${f.reservedMicrosLeft} µUSD)`],
    ['users stopped at their limit / over it', `${f.usersAtLimit} / ${f.usersOverLimit}`],
    ['highest spend / limit', f.highestSpendShareOfLimit],
    ['subscribers (stayed / gave up)', `${f.subscribers} (${f.subscribersStayed} / ${f.subscribersGaveUp})`],
    ['  text exactly once', f.exactlyOnce],
    ['  text cut by a killed instance', f.textLostWithInstance],
    ['  wrong text (only the end)', `${f.wrongText} (${f.onlyTerminal})`],
    ['  duplicate event ids', f.duplicateEventIds],
    ['  wrong terminal event', f.wrongTerminal],
    ['  resubscribed after an error', f.resubscribes],
    ['faults injected', faultCount],
    ['LLM requests (stalled / reset)', `${llm.requests} (${llm.stalls} / ${llm.resets})`],
    ['proxy: by instance', JSON.stringify(proxy.byInstance)],
    ['proxy: failovers / 502 / cut streams', `${proxy.failovers} / ${proxy.badGateway} / ${proxy.cutStreams}`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log('');
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
  console.log('');
  for (const invariant of verdict.invariants) {
    console.log(`${invariant.ok ? 'PASS' : 'FAIL'}  ${invariant.name}: ${invariant.detail}`);
  }
  if (verdict.reservationsLeft.length > 0) {
    console.log('\nreservations left:');
    for (const left of verdict.reservationsLeft) console.log(`  ${JSON.stringify(left)}`);
  }
  if (verdict.examples.length > 0) {
    console.log('\nsome subscribers that failed:');
    for (const example of verdict.examples) console.log(`  ${JSON.stringify(example)}`);
  }
}

const code = await main().catch((error: unknown) => {
  console.error(error);
  return 2;
});
// The SDK's keep-alive sockets to the closed proxy would hold the process open for a while.
process.exit(code);
