/** Which cap refused a stream: the caller's streams in all, or the streams following one run. */
export type StreamCap = 'user' | 'run';

/** STREAMS_PER_USER_MAX and STREAMS_PER_RUN_MAX. */
export interface StreamCaps {
  perUser: number;
  perRun: number;
}

export type StreamSlot = { granted: true; release: () => void } | { granted: false; cap: StreamCap };

/**
 * Counts the event streams open at once, per user and per run, and refuses one past either cap.
 * In this process's memory (`MemoryStreamSlots`), or shared by every process through Redis
 * (`RedisStreamSlots`, with REDIS_URL). `release` gives the slot back and may be called any number of times: only the first counts.
 */
export interface StreamSlots {
  acquire(userId: string, runId: string): Promise<StreamSlot>;
}
