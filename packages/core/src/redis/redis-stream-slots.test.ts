import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStreamSlots } from '../index';
import type { StreamCaps, StreamSlot } from '../ports/stream-slots';
import { testRedisUrl } from '../testing/redis';
import { connectRedis, type RedisConnections } from './redis-connections';
import { RedisStreamSlots } from './redis-stream-slots';

const redisUrl = testRedisUrl();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function granted(slot: StreamSlot): () => void {
  if (!slot.granted) throw new Error(`refused (${slot.cap})`);
  return slot.release;
}

// Each "process" is its own connection and its own local count, as two server instances are.
describe.runIf(redisUrl)('RedisStreamSlots', () => {
  let connections: RedisConnections[] = [];
  const opened: RedisStreamSlots[] = [];
  const extraClients: Redis[] = [];
  // Ids of the test's own, so a shared Redis database holds nothing another test run counts.
  const user = () => `user-${randomUUID()}`;
  const run = () => `run-${randomUUID()}`;

  beforeAll(async () => {
    connections = await Promise.all([0, 1, 2].map(() => connectRedis(String(redisUrl))));
  });
  afterEach(() => {
    for (const slots of opened.splice(0)) slots.close();
  });
  afterAll(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    for (const client of extraClients) client.disconnect();
  });

  function instance(index: number, caps: StreamCaps, options: { leaseMs?: number; client?: Redis } = {}) {
    const client = options.client ?? connections[index]?.limits;
    if (!client) throw new Error('no connection');
    const slots = new RedisStreamSlots({ client, caps, local: new MemoryStreamSlots(caps), ...options });
    opened.push(slots);
    return slots;
  }

  it('holds one count per user and per run for every process, and counts a release once', async () => {
    const caps = { perUser: 3, perRun: 2 };
    const [a, b] = [instance(0, caps), instance(1, caps)];
    const [u, r1, r2, r3, r4] = [user(), run(), run(), run(), run()];
    const first = granted(await a.acquire(u, r1));
    granted(await b.acquire(u, r1));
    expect(await a.acquire(u, r1)).toEqual({ granted: false, cap: 'run' });
    expect(await b.acquire(u, r1)).toEqual({ granted: false, cap: 'run' });
    granted(await b.acquire(u, r2));
    expect(await a.acquire(u, r3)).toEqual({ granted: false, cap: 'user' });
    granted(await a.acquire(user(), r3));

    first();
    first();
    granted(await b.acquire(u, r3));
    expect(await a.acquire(u, r4)).toEqual({ granted: false, cap: 'user' });
  });

  it("frees a killed process's slots within one lease, and keeps a live process's past it", async () => {
    const caps = { perUser: 2, perRun: 2 };
    const leaseMs = 400;
    const [doomed, survivor, other] = [
      instance(0, caps, { leaseMs }),
      instance(1, caps, { leaseMs }),
      instance(2, caps, { leaseMs }),
    ];
    const u = user();
    granted(await doomed.acquire(u, run()));
    granted(await survivor.acquire(u, run()));
    expect(await other.acquire(u, run())).toEqual({ granted: false, cap: 'user' });

    // Killed: it neither renews nor releases.
    doomed.close();
    await sleep(leaseMs * 3);
    granted(await other.acquire(u, run()));
    // The survivor's slot was renewed all along.
    expect(await other.acquire(u, run())).toEqual({ granted: false, cap: 'user' });
  });

  it('leaves no key behind once every stream has closed', async () => {
    const caps = { perUser: 5, perRun: 5 };
    const slots = instance(0, caps, { leaseMs: 10_000 });
    const [u, r] = [user(), run()];
    const keys = [`hearth:streams:user:${u}`, `hearth:streams:run:${r}`];
    const releases = [granted(await slots.acquire(u, r)), granted(await slots.acquire(u, r))];
    const redis = connections[2]?.commands;
    expect(await redis?.zcard(keys[0] ?? '')).toBe(2);
    // Each set expires with its latest lease, whatever happens to its slots.
    expect(await redis?.pttl(keys[1] ?? '')).toBeGreaterThan(9_000);
    for (const release of releases) release();
    await sleep(50);
    expect(await redis?.exists(...keys)).toBe(0);
  });

  it('lets streams through on the local count while Redis is away, and counts them once it is back', async () => {
    const caps = { perUser: 2, perRun: 2 };
    const leaseMs = 300;
    const client = new Redis(String(redisUrl), { lazyConnect: true, enableOfflineQueue: false });
    client.on('error', () => {});
    extraClients.push(client);
    const cut = instance(0, caps, { leaseMs, client });
    const elsewhere = instance(1, caps, { leaseMs });
    const u = user();

    await client.connect();
    // Cut off: every command fails at once.
    const ended = new Promise((resolve) => client.once('end', resolve));
    client.disconnect();
    await ended;
    granted(await cut.acquire(u, run()));
    granted(await cut.acquire(u, run()));
    expect(await cut.acquire(u, run())).toEqual({ granted: false, cap: 'user' });
    granted(await elsewhere.acquire(u, run()));

    await client.connect();
    await sleep(leaseMs * 2);
    // Renewed into Redis: the other process now sees the cap taken.
    expect(await elsewhere.acquire(u, run())).toEqual({ granted: false, cap: 'user' });
  });
});
