import type { StreamCaps, StreamSlot, StreamSlots } from '../ports/stream-slots';

/** Open-stream counts in this process's memory; a key is forgotten once its count is back to 0. */
export class MemoryStreamSlots implements StreamSlots {
  private readonly byUser = new Map<string, number>();
  private readonly byRun = new Map<string, number>();
  private open = 0;

  constructor(private readonly caps: StreamCaps) {}

  async acquire(userId: string, runId: string): Promise<StreamSlot> {
    if ((this.byUser.get(userId) ?? 0) >= this.caps.perUser) return { granted: false, cap: 'user' };
    if ((this.byRun.get(runId) ?? 0) >= this.caps.perRun) return { granted: false, cap: 'run' };
    add(this.byUser, userId, 1);
    add(this.byRun, runId, 1);
    this.open += 1;
    let held = true;
    return {
      granted: true,
      release: () => {
        if (!held) return;
        held = false;
        add(this.byUser, userId, -1);
        add(this.byRun, runId, -1);
        this.open -= 1;
      },
    };
  }

  /** Streams open now for `userId`. */
  openForUser(userId: string): number {
    return this.byUser.get(userId) ?? 0;
  }

  /** Streams open now, of all users. */
  openStreams(): number {
    return this.open;
  }

  /** Users and runs with a stream open now: what the maps hold. */
  size(): { users: number; runs: number } {
    return { users: this.byUser.size, runs: this.byRun.size };
  }
}

function add(counts: Map<string, number>, key: string, delta: number): void {
  const count = (counts.get(key) ?? 0) + delta;
  if (count > 0) counts.set(key, count);
  else counts.delete(key);
}
