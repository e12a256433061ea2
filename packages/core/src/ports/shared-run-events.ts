import type { RunEvent } from '../domain/chat';
import type { StreamedEvent } from './chat';

/**
 * A run's events shared with every process behind the load balancer, so that a subscriber on
 * any instance follows any run live and resumes by event id. The process running a run appends
 * its events (ids 1, 2, 3… in order); the others follow. The embedded default has one process and
 * needs none of this: its `RunHub` is the whole log.
 */
export interface SharedRunEvents {
  /**
   * Appends the run's event number `id`. Never throws and never blocks the run: an append lost
   * while the shared log was unreachable is written again by the adapter from `replay` once it is
   * back (see `republish`).
   */
  append(runId: string, id: number, event: RunEvent): void;
  /**
   * Every event after `afterId`, then each new one, until the terminal event or `signal`. When no
   * event comes for a while it asks `hasEnded` (the store knows whether the run ended); once the
   * run has ended and nothing more arrives it returns without a terminal event, and the caller
   * answers from the store.
   */
  follow(
    runId: string,
    afterId: number,
    signal: AbortSignal,
    hasEnded: () => Promise<boolean>,
  ): AsyncIterable<StreamedEvent>;
  /**
   * The events of the runs this process is running, to write again after the shared log lost
   * them (Redis restarted): `liveRuns` returns each live run's full log so far.
   */
  republish(liveRuns: () => Iterable<{ runId: string; events: readonly StreamedEvent[] }>): void;
  close(): Promise<void>;
}
