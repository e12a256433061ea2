import type { RunEvent } from '../domain/chat';
import type { StreamedEvent } from './chat';

/**
 * The live event log of each run this process is running: fan-out to its subscribers and replay
 * from any event id (the nth event has id `String(n)`), kept for a while after the run ends so a late
 * reconnect still gets every event once. Runs of other processes are `SharedRunEvents`' to follow.
 */
export interface RunEventHub {
  /** Starts the run's log; the signal aborts when the run is cancelled. */
  open(runId: string, userId: string): AbortSignal;
  ownerOf(runId: string): string | undefined;
  has(runId: string): boolean;
  publishedCount(runId: string): number;
  /** The runs not yet ended here: what the per-user limit and the heartbeat look at. */
  liveRunIdsOf(userId: string): string[];
  liveRunIds(): string[];
  /** Appends an event; a terminal one ends the run's log (nothing is appended after it). */
  publish(runId: string, event: RunEvent): void;
  /** Asks a live run to stop; resolves once it has ended (or at once if it is not here). */
  cancel(runId: string): Promise<void>;
  /** Stops a run whose start could not be stored and forgets it at once: no one was told of it. */
  discard(runId: string): void;
  /** The events after `afterId`, then each new one, until the terminal event or `signal`. */
  follow(runId: string, afterId: number, signal: AbortSignal): AsyncIterable<StreamedEvent>;
}
