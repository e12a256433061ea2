import type { RunEvent } from '../domain/chat';

/**
 * Merges the text deltas that arrive within `windowMs` of the last one sent into one event. Each
 * event costs a serialisation and a socket write per subscriber, and a parse and a render in the
 * client; a model streaming a token every 10 ms would otherwise cost that a hundred times a second
 * per stream, for changes no reader can tell apart. Any other event flushes the pending text first,
 * so order holds. The run's first text goes out at once: waiting would add to the time to first token.
 * With a window of 0, only deltas arriving within one turn of the event loop (a burst) are merged.
 */
export class DeltaCoalescer {
  private pending = '';
  private cancelFlush: (() => void) | null = null;
  private lastSentAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly publish: (event: RunEvent) => void,
    private readonly windowMs = 0,
  ) {}

  push(event: RunEvent): void {
    if (event.type !== 'text.delta') {
      this.flush();
      this.publish(event);
      return;
    }
    if (this.lastSentAt === Number.NEGATIVE_INFINITY) {
      this.lastSentAt = performance.now();
      this.publish(event);
      return;
    }
    this.pending += event.text;
    if (this.cancelFlush) return;
    const wait = this.lastSentAt + this.windowMs - performance.now();
    if (wait > 0) {
      const timer = setTimeout(() => this.flush(), wait);
      this.cancelFlush = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(() => this.flush());
      this.cancelFlush = () => clearImmediate(immediate);
    }
  }

  flush(): void {
    this.cancelFlush?.();
    this.cancelFlush = null;
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    this.lastSentAt = performance.now();
    this.publish({ type: 'text.delta', text });
  }
}
