import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { StreamCaps, StreamSlot, StreamSlots } from '../ports/stream-slots';

export interface RedisStreamSlotsOptions {
  /** Should have `enableOfflineQueue: false` (the `limits` connection), so a call fails at once while Redis is away. */
  client: Redis;
  caps: StreamCaps;
  /**
   * This process's own count (a `MemoryStreamSlots` with the same caps): every slot is taken there
   * too, and it alone decides while Redis does not answer.
   */
  local: StreamSlots;
  /** How long a slot counts without being renewed: a killed process's slots are free again after this. */
  leaseMs?: number;
  /** How often the slots held here are renewed; a third of the lease, so two renewals may be lost. */
  renewEveryMs?: number;
  /** How long an acquire waits for Redis before the local count decides alone. */
  timeoutMs?: number;
}

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 1_000;
/** Slots renewed per script call: one call stays short however many streams a process holds. */
const RENEW_BATCH = 500;

const userKey = (userId: string) => `hearth:streams:user:${userId}`;
const runKey = (runId: string) => `hearth:streams:run:${runId}`;

// Redis's own clock (TIME) scores every lease, so the processes' clocks need not agree. Scripts are
// sent with EVAL, not EVALSHA: a NOSCRIPT retry would be sent after a later ZREM and could bring a
// released slot back for a lease.
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: the user's set, the run's set. ARGV: per-user cap, per-run cap, slot id, lease (ms).
 * Drops the expired leases, then adds the slot to both sets if neither is full: 'ok', 'user' or 'run'.
 * Each set expires a lease after its latest slot was added or renewed, so nothing outlives its streams.
 */
const ACQUIRE = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 'user' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 'run' end
local expires = now + tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], expires, ARGV[3])
redis.call('ZADD', KEYS[2], expires, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 'ok'`;

/**
 * KEYS: user and run set of each slot, in pairs. ARGV: lease (ms), then each slot's id.
 * Moves every lease a full lease ahead; a slot missing from its sets (Redis restarted empty, or it
 * was taken while Redis was away) is added again: its stream is open, so it counts.
 */
const RENEW = `${NOW_MS}
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do
  local user = KEYS[2 * i - 3]
  local run = KEYS[2 * i - 2]
  redis.call('ZADD', user, now + lease, ARGV[i])
  redis.call('ZADD', run, now + lease, ARGV[i])
  redis.call('PEXPIRE', user, lease)
  redis.call('PEXPIRE', run, lease)
end
return #ARGV - 1`;

interface HeldSlot {
  id: string;
  userId: string;
  runId: string;
}

/**
 * Open-stream caps shared by every process: one sorted set per user and one per run, whose members
 * are slot ids scored by when their lease ends. An acquire is one script (drop the expired, count,
 * add under both caps), a release a ZREM of the slot, and the process renews its slots' leases while
 * their streams stay open, so the slots of a process that died are free again within one lease.
 *
 * Redis unreachable (or slower than `timeoutMs`): the stream is let through if this process's own
 * count allows it. The caps loosen to one per process for that time rather than refusing every
 * stream, which would leave every chat without its answers; what they protect, each process's
 * sockets and memory, the local count keeps protecting. Such a slot is written to Redis by the next
 * renewal once Redis is back, so it counts from then on.
 */
export class RedisStreamSlots implements StreamSlots {
  private readonly held = new Set<HeldSlot>();
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RedisStreamSlotsOptions) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(this.leaseMs / 3));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async acquire(userId: string, runId: string): Promise<StreamSlot> {
    const local = await this.options.local.acquire(userId, runId);
    if (!local.granted) return local;
    const slot: HeldSlot = { id: randomUUID(), userId, runId };
    const { perUser, perRun } = this.options.caps;
    const answer = await withTimeout(
      this.options.client.eval(ACQUIRE, 2, userKey(userId), runKey(runId), perUser, perRun, slot.id, this.leaseMs),
      this.timeoutMs,
    ).catch(() => 'unreachable');
    if (answer === 'user' || answer === 'run') {
      local.release();
      return { granted: false, cap: answer };
    }
    this.hold(slot);
    let released = false;
    return {
      granted: true,
      release: () => {
        if (released) return;
        released = true;
        local.release();
        this.held.delete(slot);
        if (this.held.size === 0) this.stopRenewing();
        // Lost while Redis is away: the lease ends it instead.
        this.options.client
          .pipeline()
          .zrem(userKey(userId), slot.id)
          .zrem(runKey(runId), slot.id)
          .exec()
          .catch(() => {});
      },
    };
  }

  /** Stops renewing; the slots still held here end with their leases, as a killed process's do. */
  close(): void {
    this.closed = true;
    this.stopRenewing();
  }

  private hold(slot: HeldSlot): void {
    this.held.add(slot);
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.renew(), this.renewEveryMs);
    this.timer.unref();
  }

  private stopRenewing(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private renew(): void {
    const slots = [...this.held];
    for (let start = 0; start < slots.length; start += RENEW_BATCH) {
      const batch = slots.slice(start, start + RENEW_BATCH);
      const keys = batch.flatMap((slot) => [userKey(slot.userId), runKey(slot.runId)]);
      this.options.client
        .eval(RENEW, keys.length, ...keys, this.leaseMs, ...batch.map((slot) => slot.id))
        // Redis away: the next renewal tries again, and a lease outlives two lost ones.
        .catch(() => {});
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
