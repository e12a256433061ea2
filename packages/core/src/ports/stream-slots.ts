/** Which cap refused a stream: the caller's streams in all, or the streams following one run. */
export type StreamCap = 'user' | 'run';

export type StreamSlot = { granted: true; release: () => void } | { granted: false; cap: StreamCap };

/**
 * Counts the event streams open at once, per user and per run, and refuses one past either cap.
 * In this process's memory today; a shared implementation (Redis) lets several processes hold one
 * count. `release` gives the slot back and may be called any number of times: only the first counts.
 */
export interface StreamSlots {
  acquire(userId: string, runId: string): Promise<StreamSlot>;
}
