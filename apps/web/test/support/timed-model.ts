import { setTimeout as sleep } from 'node:timers/promises';
import type { LlmClient, LlmRequest, LlmStreamEvent } from '@hearth/core';

/** Epoch milliseconds with sub-millisecond precision, comparable with the page's `performance.timeOrigin + now()`. */
export const epochNow = () => performance.timeOrigin + performance.now();

/**
 * The real model client with a stopwatch: it notes when the server received each step's first
 * text delta, so a test can tell how long that delta took to reach the screen. It waits
 * `firstTokenMs` before the step, as a real model does before its first token: the offline model
 * answers within milliseconds, before the page has even opened the run's event stream, and the
 * figure would then time the stream's opening instead of the delta's way to the screen.
 */
export class TimedModel implements LlmClient {
  readonly firstDeltas: { at: number; text: string }[] = [];

  constructor(
    private readonly inner: LlmClient,
    private readonly firstTokenMs = 0,
  ) {}

  get defaultModel() {
    return this.inner.defaultModel;
  }
  get isOffline() {
    return this.inner.isOffline;
  }
  probe() {
    return this.inner.probe();
  }

  async *stream(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
    let first = true;
    if (this.firstTokenMs > 0) await sleep(this.firstTokenMs, undefined, { signal: request.signal });
    for await (const event of this.inner.stream(request)) {
      if (first && event.type === 'text') {
        first = false;
        this.firstDeltas.push({ at: epochNow(), text: event.text });
      }
      yield event;
    }
  }
}
