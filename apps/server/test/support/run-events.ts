import type { HearthClient, RunEvent, TrackedRunEvent } from '@hearth/sdk';

const TERMINAL = new Set(['run.completed', 'run.failed', 'run.cancelled']);

export interface Collected {
  events: TrackedRunEvent[];
  text: string;
  terminal: RunEvent | undefined;
}

/**
 * Subscribes to a run through the SDK (SSE) and collects events until the terminal one, or until
 * `stopAfter` says to drop the connection early (to test resuming).
 */
export function collectRun(
  client: HearthClient,
  runId: string,
  options: {
    lastEventId?: string;
    stopAfter?: (event: TrackedRunEvent, count: number) => boolean;
    timeoutMs?: number;
  } = {},
): Promise<Collected> {
  const events: TrackedRunEvent[] = [];
  return new Promise((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      subscription.unsubscribe();
      const text = events.map((e) => (e.data.type === 'text.delta' ? e.data.text : '')).join('');
      resolve({ events, text, terminal: events.map((e) => e.data).find((d) => TERMINAL.has(d.type)) });
    };
    const timer = setTimeout(
      () => reject(new Error(`run ${runId}: no terminal event after ${events.length} events`)),
      options.timeoutMs ?? 15_000,
    );
    const subscription = client.chat.events.subscribe(
      { runId, ...(options.lastEventId ? { lastEventId: options.lastEventId } : {}) },
      {
        onData: (event) => {
          events.push(event);
          if (TERMINAL.has(event.data.type) || options.stopAfter?.(event, events.length)) finish();
        },
        onError: (error) => {
          clearTimeout(timer);
          subscription.unsubscribe();
          reject(error);
        },
      },
    );
  });
}

/** Sends a message and waits for its run to end. */
export async function chatTurn(client: HearthClient, text: string, conversationId?: string) {
  const sent = await client.chat.send.mutate({ text, ...(conversationId ? { conversationId } : {}) });
  return { sent, ...(await collectRun(client, sent.runId)) };
}
