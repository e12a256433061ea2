import type { TRPCClient } from '@trpc/client';
import type { AppRouter, TrackedRunEvent } from './types';

const TERMINAL = new Set(['run.completed', 'run.failed', 'run.cancelled']);

export interface StreamRunOptions {
  /** Resume after this event id (from an earlier stream of the same run). */
  lastEventId?: string;
  /** Stops the stream early; the run itself goes on (cancel it with `chat.cancel`). */
  signal?: AbortSignal;
}

/**
 * A run's events as an async iterable that ends after the terminal event. Dropped connections are
 * resumed from the last event id by the SDK, so no event is lost or repeated.
 *
 * ```ts
 * const { runId } = await hearth.chat.send.mutate({ text: 'Hi!' });
 * for await (const { data } of hearth.streamRun(runId)) if (data.type === 'text.delta') render(data.text);
 * ```
 */
export async function* streamRun(
  trpc: TRPCClient<AppRouter>,
  runId: string,
  options: StreamRunOptions = {},
): AsyncGenerator<TrackedRunEvent> {
  const queue: TrackedRunEvent[] = [];
  let failure: { error: unknown } | null = null;
  let finished = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const subscription = trpc.chat.events.subscribe(
    { runId, ...(options.lastEventId ? { lastEventId: options.lastEventId } : {}) },
    {
      onData: (event) => {
        queue.push(event);
        if (TERMINAL.has(event.data.type)) finished = true;
        notify();
      },
      onError: (error) => {
        failure = { error };
        notify();
      },
      onComplete: () => {
        finished = true;
        notify();
      },
    },
  );
  const stop = () => {
    finished = true;
    notify();
  };
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    while (true) {
      const next = queue.shift();
      if (next) {
        yield next;
        if (TERMINAL.has(next.data.type)) return;
        continue;
      }
      if (failure) throw (failure as { error: unknown }).error;
      if (finished) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    subscription.unsubscribe();
  }
}
