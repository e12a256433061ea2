import type { Redis } from 'ioredis';
import superjson from 'superjson';
import { isTerminal, type RunEvent } from '../domain/chat';
import type { StreamedEvent } from '../ports/chat';
import type { SharedRunEvents } from '../ports/shared-run-events';

export interface RedisRunEventsOptions {
  /** For XADD, XRANGE and PUBLISH. */
  commands: Redis;
  /** In subscriber mode, which allows nothing but (UN)SUBSCRIBE: a connection of its own. */
  subscriber: Redis;
  /** How long a finished run's stream stays for replay (RUN_EVENT_RETENTION_SECONDS). */
  retentionMs: number;
  /** How long a follower hears nothing before it reads the stream anyway and asks whether the run ended. */
  idleCheckMs?: number;
}

/** A run that is still going keeps its stream at least this long after its latest event. */
const LIVE_RUN_TTL_MS = 60 * 60 * 1000;
/** Bounds one run's stream (approximately, as XADD MAXLEN ~ does); coalesced deltas make runs far shorter. */
const MAX_EVENTS_PER_RUN = 20_000;
const READ_BATCH = 500;

const streamKey = (runId: string) => `hearth:run:${runId}:events`;
const channelPrefix = 'hearth:run:';
const channelOf = (runId: string) => `${channelPrefix}${runId}`;
/** Stream entry ids are the run's own event ids: event n is entry `0-n`, so "after n" is `(0-n`. */
const entryId = (id: number) => `0-${id}`;

/**
 * What this process has read of one run that another process is running: read once here and
 * handed to every local subscriber of that run, so a thousand subscribers cost one XRANGE per event.
 */
class FollowedRun {
  /** Event n is at index n - 1: the log is contiguous from the first event. */
  readonly events: StreamedEvent[] = [];
  readonly wake = new Set<() => void>();
  followers = 0;
  /** Nothing more will be read: the terminal event is here, or the store says the run is over. */
  ended = false;
  reading: Promise<void> | null = null;
  readAgain = false;
  /** Events read since the last idle check. */
  progressed = false;
  /** The store said the run had ended at the last idle check, and nothing has been read since. */
  endedInStore = false;
  timer: NodeJS.Timeout | undefined;

  constructor(readonly hasEnded: () => Promise<boolean>) {}

  wakeAll(): void {
    const waiting = [...this.wake];
    this.wake.clear();
    for (const resolve of waiting) resolve();
  }
}

/**
 * Run events over Redis: each run's events go to a Redis Stream of that run (bounded, expiring
 * a retention window after the run ends), and a PUBLISH on the run's channel tells followers on
 * other processes to read it. Followers read by entry id, so a notification lost in a reconnect
 * costs nothing but a poll: every follower also reads after `idleCheckMs` of silence.
 */
export class RedisRunEvents implements SharedRunEvents {
  private readonly followed = new Map<string, FollowedRun>();
  private readonly idleCheckMs: number;
  private readonly onMessage = (_pattern: string, channel: string) => {
    if (!channel.startsWith(channelPrefix)) return;
    const runId = channel.slice(channelPrefix.length);
    const run = this.followed.get(runId);
    if (run) this.read(runId, run);
  };
  private readonly onSubscriberReady = () => {
    for (const [runId, run] of this.followed) this.read(runId, run);
  };
  private stopRepublishing: () => void = () => {};

  constructor(private readonly options: RedisRunEventsOptions) {
    this.idleCheckMs = options.idleCheckMs ?? 500;
    // One pattern subscription for every run, made once: a SUBSCRIBE per followed run had its
    // answer arrive late while other runs were (un)subscribed, and the first deltas waited for it.
    // Each process then hears every run's notifications and ignores those it does not follow.
    options.subscriber.on('pmessage', this.onMessage);
    options.subscriber.on('ready', this.onSubscriberReady);
    options.subscriber.psubscribe(`${channelPrefix}*`).catch(() => {});
  }

  append(runId: string, id: number, event: RunEvent): void {
    const key = streamKey(runId);
    this.options.commands
      .pipeline()
      .xadd(key, 'MAXLEN', '~', MAX_EVENTS_PER_RUN, entryId(id), 'e', superjson.stringify(event))
      .pexpire(key, isTerminal(event) ? this.options.retentionMs : LIVE_RUN_TTL_MS)
      .publish(channelOf(runId), String(id))
      .exec()
      // Unreachable Redis: the run goes on here, and `republish` writes its log again on reconnect.
      .catch(() => {});
  }

  republish(liveRuns: () => Iterable<{ runId: string; events: readonly StreamedEvent[] }>): void {
    this.stopRepublishing();
    const { commands, retentionMs } = this.options;
    let connectedBefore = commands.status === 'ready';
    const onReady = () => {
      // The first connection has nothing to restore; a reconnect may find Redis restarted and empty.
      if (!connectedBefore) {
        connectedBefore = true;
        return;
      }
      for (const { runId, events } of liveRuns()) {
        if (events.length === 0) continue;
        const key = streamKey(runId);
        // One transaction: a follower reading meanwhile sees the old stream or the whole new one.
        const rewrite = commands.multi().del(key);
        for (const item of events) {
          rewrite.xadd(key, entryId(Number(item.id)), 'e', superjson.stringify(item.event));
        }
        const last = events[events.length - 1];
        rewrite
          .pexpire(key, last && isTerminal(last.event) ? retentionMs : LIVE_RUN_TTL_MS)
          .publish(channelOf(runId), String(events.length))
          .exec()
          .catch(() => {});
      }
    };
    commands.on('ready', onReady);
    this.stopRepublishing = () => commands.off('ready', onReady);
  }

  async *follow(
    runId: string,
    afterId: number,
    signal: AbortSignal,
    hasEnded: () => Promise<boolean>,
  ): AsyncGenerator<StreamedEvent> {
    const run = await this.attach(runId, hasEnded);
    let next = afterId;
    let wake = () => {};
    const onAbort = () => wake();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        while (next < run.events.length) {
          const item = run.events[next];
          next += 1;
          if (item) yield item;
          if (item && isTerminal(item.event)) return;
        }
        if (run.ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          run.wake.add(resolve);
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      run.wake.delete(wake);
      this.detach(runId, run);
    }
  }

  async close(): Promise<void> {
    this.stopRepublishing();
    this.options.subscriber.off('pmessage', this.onMessage);
    await this.options.subscriber.punsubscribe(`${channelPrefix}*`).catch(() => {});
    this.options.subscriber.off('ready', this.onSubscriberReady);
    for (const run of this.followed.values()) {
      clearInterval(run.timer);
      run.ended = true;
      run.wakeAll();
    }
    this.followed.clear();
  }

  private async attach(runId: string, hasEnded: () => Promise<boolean>): Promise<FollowedRun> {
    let run = this.followed.get(runId);
    if (!run) {
      const created = new FollowedRun(hasEnded);
      run = created;
      this.followed.set(runId, created);
      created.timer = setInterval(() => void this.checkIdle(runId, created), this.idleCheckMs);
      created.timer.unref();
      await this.read(runId, created);
      // Nothing in Redis for a run the store says is over: it ended before the retention window
      // (or Redis lost it), and the store's answer is all there is.
      if (created.events.length === 0 && (await hasEnded().catch(() => false))) created.ended = true;
    }
    run.followers += 1;
    return run;
  }

  private detach(runId: string, run: FollowedRun): void {
    run.followers -= 1;
    if (run.followers > 0 || this.followed.get(runId) !== run) return;
    this.followed.delete(runId);
    clearInterval(run.timer);
  }

  /** Reads what was appended after the last event read; one read at a time per run, repeated if asked meanwhile. */
  private read(runId: string, run: FollowedRun): Promise<void> {
    if (run.reading) {
      run.readAgain = true;
      return run.reading;
    }
    run.reading = (async () => {
      do {
        run.readAgain = false;
        for (;;) {
          const entries = await this.options.commands.xrange(
            streamKey(runId),
            `(${entryId(run.events.length)}`,
            '+',
            'COUNT',
            READ_BATCH,
          );
          let contiguous = true;
          for (const [entry, fields] of entries) {
            const id = Number(entry.slice(entry.indexOf('-') + 1));
            // A gap: Redis lost events (it restarted) and the run's process has not written them again yet.
            if (id !== run.events.length + 1) {
              contiguous = false;
              break;
            }
            const event = superjson.parse<RunEvent>(fields[1] ?? 'null');
            run.events.push({ id: String(id), event });
            run.progressed = true;
            run.endedInStore = false;
            if (isTerminal(event)) run.ended = true;
          }
          if (entries.length > 0) run.wakeAll();
          if (!contiguous || entries.length < READ_BATCH || run.ended) break;
        }
      } while (run.readAgain && !run.ended);
    })()
      // Redis unreachable: the idle checks try again.
      .catch(() => {})
      .finally(() => {
        run.reading = null;
      });
    return run.reading;
  }

  /**
   * Silence: read anyway (a notification may have been lost), and if the store has said twice in
   * a row that the run ended while nothing came, stop: its process died or Redis lost the end.
   */
  private async checkIdle(runId: string, run: FollowedRun): Promise<void> {
    if (run.ended) return;
    if (run.progressed) {
      run.progressed = false;
      return;
    }
    await this.read(runId, run);
    if (run.progressed || run.ended) return;
    const over = await run.hasEnded().catch(() => false);
    if (!over) {
      run.endedInStore = false;
      return;
    }
    if (run.endedInStore) {
      run.ended = true;
      run.wakeAll();
    } else {
      run.endedInStore = true;
    }
  }
}
