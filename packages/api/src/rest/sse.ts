import type { StreamedEvent } from '@hearth/core';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ApiLogger } from '../context';

// Proxies drop idle connections; a comment line every so often keeps a quiet run's stream open.
const PING_MS = 15_000;

/**
 * Opens a run's events, then streams them as SSE (`id`, `event: <type>`, `data: <json>`) until
 * the run ends or the client goes. The stream is opened first so that NOT_FOUND, INVALID_INPUT or
 * RATE_LIMITED is an ordinary JSON error with its status, not an event in a 200 stream.
 */
export async function runEventStream(
  c: Context,
  logger: ApiLogger,
  open: (signal: AbortSignal) => Promise<AsyncIterable<StreamedEvent>>,
): Promise<Response> {
  const stop = new AbortController();
  const clientGone = () => stop.abort();
  c.req.raw.signal.addEventListener('abort', clientGone, { once: true });
  let events: AsyncIterable<StreamedEvent>;
  try {
    events = await open(stop.signal);
  } catch (error) {
    c.req.raw.signal.removeEventListener('abort', clientGone);
    throw error;
  }
  return streamSSE(
    c,
    async (stream) => {
      stream.onAbort(clientGone);
      const ping = setInterval(() => void stream.write(': ping\n\n').catch(clientGone), PING_MS);
      try {
        for await (const { id, event } of events) {
          if (stream.aborted) break;
          await stream.writeSSE({ id, event: event.type, data: JSON.stringify(event) });
        }
      } finally {
        clearInterval(ping);
        stop.abort();
        c.req.raw.signal.removeEventListener('abort', clientGone);
      }
    },
    async (error) => {
      logger.error({ route: c.req.routePath, err: error }, 'event stream failed');
    },
  );
}
