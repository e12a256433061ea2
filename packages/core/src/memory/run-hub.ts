import { isTerminal, type RunEvent } from '../domain/chat';
import type { StreamedEvent } from '../ports/chat';
import type { RunEventHub } from '../ports/run-event-hub';
import type { SharedRunEvents } from '../ports/shared-run-events';

interface LiveRun {
  userId: string;
  /** The nth event has id `String(n)`: what subscribers pass back as lastEventId. */
  events: StreamedEvent[];
  wake: Set<() => void>;
  controller: AbortController;
  ended: boolean;
  settled: Promise<void>;
  settle: () => void;
}

/**
 * How many subscribers one published event wakes before the event loop gets a turn: a thousand
 * subscribers woken at once would write a thousand streams in one go, and every other request
 * (a /healthz probe, another user's send) would wait for all of them (`pnpm bench:fanout`).
 */
export const WAKE_SLICE = 100;

/** A subscriber woken in a later slice reads every event published by then: nothing is skipped. */
function wakeInSlices(waiting: (() => void)[], from: number): void {
  const end = Math.min(from + WAKE_SLICE, waiting.length);
  for (let i = from; i < end; i += 1) waiting[i]?.();
  if (end < waiting.length) setImmediate(() => wakeInSlices(waiting, end));
}

/**
 * The live event log of each run in this process. Subscribers replay from any event id and then
 * follow; the log outlives the run by `retentionMs` so a client that reconnects late still gets
 * every event exactly once.
 */
export class RunHub implements RunEventHub {
  private readonly runs = new Map<string, LiveRun>();
  /** The runs not yet ended, by user: what the per-user limit and the heartbeat look at. */
  private readonly liveByUser = new Map<string, Set<string>>();

  private readonly observe: ((runId: string, event: RunEvent) => void) | undefined;
  private readonly shared: SharedRunEvents | undefined;

  /**
   * `observe` sees every event published here, as it is published (metrics); `shared` gets every
   * one too, for the subscribers of other processes (REDIS_URL).
   */
  constructor(
    private readonly retentionMs: number,
    options: {
      observe?: ((runId: string, event: RunEvent) => void) | undefined;
      shared?: SharedRunEvents | null | undefined;
    } = {},
  ) {
    this.observe = options.observe;
    this.shared = options.shared ?? undefined;
    this.shared?.republish(() => this.logs());
  }

  open(runId: string, userId: string): AbortSignal {
    let settle = () => {};
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const run: LiveRun = {
      userId,
      events: [],
      wake: new Set(),
      controller: new AbortController(),
      ended: false,
      settled,
      settle,
    };
    this.runs.set(runId, run);
    const live = this.liveByUser.get(userId);
    if (live) live.add(runId);
    else this.liveByUser.set(userId, new Set([runId]));
    return run.controller.signal;
  }

  ownerOf(runId: string): string | undefined {
    return this.runs.get(runId)?.userId;
  }

  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  /** How many events the run has published: the id of its latest event, as a number. */
  publishedCount(runId: string): number {
    return this.runs.get(runId)?.events.length ?? 0;
  }

  /** Every run's log this process holds, finished ones in their retention window included. */
  *logs(): Iterable<{ runId: string; events: readonly StreamedEvent[] }> {
    for (const [runId, run] of this.runs) yield { runId, events: run.events };
  }

  liveRunIdsOf(userId: string): string[] {
    return [...(this.liveByUser.get(userId) ?? [])];
  }

  liveRunIds(): string[] {
    return [...this.liveByUser.values()].flatMap((runIds) => [...runIds]);
  }

  private markEnded(runId: string, run: LiveRun): void {
    run.ended = true;
    const live = this.liveByUser.get(run.userId);
    live?.delete(runId);
    if (live?.size === 0) this.liveByUser.delete(run.userId);
  }

  publish(runId: string, event: RunEvent): void {
    const run = this.runs.get(runId);
    if (!run || run.ended) return;
    const id = run.events.length + 1;
    run.events.push({ id: String(id), event });
    this.observe?.(runId, event);
    this.shared?.append(runId, id, event);
    if (isTerminal(event)) {
      this.markEnded(runId, run);
      run.settle();
      setTimeout(() => this.runs.delete(runId), this.retentionMs).unref();
    }
    // A woken subscriber resumes in a later microtask and registers again when it next waits.
    const waiting = [...run.wake];
    run.wake.clear();
    wakeInSlices(waiting, 0);
  }

  /** Asks a live run to stop; resolves once it has ended (or at once if it is not here). */
  async cancel(runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) return;
    run.controller.abort();
    await run.settled;
  }

  /** Stops a run whose start could not be stored and forgets it at once: no one was told of it. */
  discard(runId: string): void {
    const run = this.runs.get(runId);
    if (!run) return;
    this.runs.delete(runId);
    this.markEnded(runId, run);
    run.controller.abort();
    run.settle();
  }

  /** Every event after `afterId`, then each new one as it comes, until the terminal event or `signal`. */
  async *follow(runId: string, afterId: number, signal: AbortSignal): AsyncGenerator<StreamedEvent> {
    const run = this.runs.get(runId);
    if (!run) return;
    let next = afterId;
    // One abort listener for the whole stream, not one per wait: a run's event wakes every subscriber.
    let wake = () => {};
    const onAbort = () => {
      run.wake.delete(wake);
      wake();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        while (next < run.events.length) {
          const item = run.events[next];
          next += 1;
          if (item) yield item;
          if (item && isTerminal(item.event)) return;
        }
        // The subscriber had seen the terminal event already (it resumed after it): nothing more comes.
        if (run.ended) return;
        // Nothing can be published between the check above and this registration: both run in one turn.
        await new Promise<void>((resolve) => {
          wake = resolve;
          run.wake.add(resolve);
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      run.wake.delete(wake);
    }
  }
}
