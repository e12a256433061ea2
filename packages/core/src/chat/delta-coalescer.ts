import type { RunEvent } from '../domain/chat';

/**
 * Merges text deltas that arrive within one turn of the event loop into one event. A provider that
 * streams at its own pace passes through token by token; a burst (a fast provider, or a server
 * catching up under load) becomes one event instead of dozens, each of which costs a serialisation
 * and a socket write per subscriber. Any other event flushes the pending text first, so order holds.
 * The run's first text goes out at once: waiting a turn would add to the time to first token.
 */
export class DeltaCoalescer {
  private pending = '';
  private scheduled = false;
  private sentText = false;

  constructor(private readonly publish: (event: RunEvent) => void) {}

  push(event: RunEvent): void {
    if (event.type !== 'text.delta') {
      this.flush();
      this.publish(event);
      return;
    }
    if (!this.sentText) {
      this.sentText = true;
      this.publish(event);
      return;
    }
    this.pending += event.text;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  flush(): void {
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    this.publish({ type: 'text.delta', text });
  }
}
