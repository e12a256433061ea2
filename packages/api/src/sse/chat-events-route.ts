import { getTRPCErrorFromUnknown, isTrackedEnvelope, TRPCError } from '@trpc/server';
import { parseConnectionParamsFromString } from '@trpc/server/unstable-core-do-not-import';
import type { Context, Handler } from 'hono';
import superjson from 'superjson';
import type { ApiContext } from '../context';
import { appRouter } from '../router';
import { createCallerFactory, SSE_PING_INTERVAL_MS, SSE_RECONNECT_AFTER_INACTIVITY_MS } from '../trpc';
import { wireTransformer } from '../wire-form';
import { eventStream, frameOnce, SharedPinger, SSE_HEADERS, sseFrame } from './event-stream';

export const PATH = 'chat.events';

const createCaller = createCallerFactory(appRouter);

// tRPC's SSE wire format, which the SDK's httpSubscriptionLink reads (see @trpc/server's sse.ts).
const CONNECTED_FRAME = sseFrame({
  event: 'connected',
  data: JSON.stringify({ reconnectAfterInactivityMs: SSE_RECONNECT_AFTER_INACTIVITY_MS }),
});
const RETURN_FRAME = sseFrame({ event: 'return', data: '' });
const pinger = new SharedPinger(SSE_PING_INTERVAL_MS, sseFrame({ event: 'ping', data: '' }));

export interface ChatEventsRouteOptions {
  /** The API context for a request, given the tRPC connection parameters from its URL. */
  contextFor: (c: Context, connectionParams: Record<string, string | undefined> | null) => ApiContext;
  /** The plain HTTP answer to an error raised before the stream opened, as every procedure's error. */
  errorResponse: (error: TRPCError, path: string) => Response;
  /** The contract's error shape, for an error sent inside an open stream. */
  errorShape: (error: TRPCError, ctx: ApiContext) => object;
  onError: (error: TRPCError, ctx: ApiContext | null) => void;
  maxQueuedBytes?: number;
}

/** The procedure's raw input, as tRPC would read it; the procedure's own schema then checks it. */
function readInput(url: URL, headers: Headers): unknown {
  const raw = url.searchParams.get('input');
  let input: unknown;
  if (raw !== null) {
    try {
      input = superjson.deserialize(JSON.parse(raw));
    } catch (cause) {
      throw new TRPCError({ code: 'PARSE_ERROR', message: 'The input is not valid JSON.', cause });
    }
  }
  // As tRPC does: a browser's EventSource resumes with the Last-Event-ID header, not the input.
  const lastEventId =
    headers.get('last-event-id') ?? url.searchParams.get('lastEventId') ?? url.searchParams.get('Last-Event-Id');
  if (!lastEventId) return input;
  return typeof input === 'object' && input !== null ? { ...input, lastEventId } : (input ?? { lastEventId });
}

/**
 * `GET /trpc/chat.events`, served here instead of by tRPC's fetch handler. The procedure is still the
 * router's (input rules, session, ownership and stream caps all run through its caller); what is
 * ours is the writing: each event's frame is built once and the same bytes go to every subscriber,
 * where tRPC's SSE producer runs a chain of web streams, generators and a ping timer per stream and
 * per event. With 1,000 streams on one run that chain kept a core busy (`pnpm bench:fanout`).
 */
export function chatEventsRoute(options: ChatEventsRouteOptions): Handler {
  return async (c) => {
    const url = new URL(c.req.url);
    let ctx: ApiContext | null = null;
    const abort = new AbortController();
    const clientGone = () => abort.abort();
    c.req.raw.signal.addEventListener('abort', clientGone, { once: true });
    let events: AsyncIterable<unknown>;
    try {
      const connectionParams = url.searchParams.get('connectionParams');
      ctx = options.contextFor(c, connectionParams === null ? null : parseConnectionParamsFromString(connectionParams));
      const input = readInput(url, c.req.raw.headers);
      // Unchecked here on purpose: the procedure's input schema is the one place its rules live.
      const call = createCaller(ctx, { signal: abort.signal }).chat.events as (raw: unknown) => Promise<unknown>;
      events = (await call(input)) as AsyncIterable<unknown>;
    } catch (cause) {
      abort.abort();
      c.req.raw.signal.removeEventListener('abort', clientGone);
      const error = getTRPCErrorFromUnknown(cause);
      options.onError(error, ctx);
      return options.errorResponse(error, PATH);
    }

    const callerCtx = ctx;
    let leavePings = () => {};
    const stream = eventStream({
      ...(options.maxQueuedBytes === undefined ? {} : { maxQueuedBytes: options.maxQueuedBytes }),
      onClose: () => {
        leavePings();
        abort.abort();
        c.req.raw.signal.removeEventListener('abort', clientGone);
      },
    });
    stream.write(CONNECTED_FRAME);
    leavePings = pinger.add(stream);
    void pump(events, stream, (error) => {
      options.onError(error, callerCtx);
      return sseFrame({
        event: 'serialized-error',
        data: JSON.stringify(wireTransformer.output.serialize(options.errorShape(error, callerCtx))),
      });
    });
    return new Response(stream.body, { status: 200, headers: SSE_HEADERS });
  };
}

async function pump(
  events: AsyncIterable<unknown>,
  stream: ReturnType<typeof eventStream>,
  errorFrame: (error: TRPCError) => Uint8Array,
): Promise<void> {
  try {
    for await (const item of events) {
      if (!stream.open) return;
      if (!isTrackedEnvelope(item)) continue;
      const [id, data] = item;
      const frame =
        typeof data === 'object' && data !== null ? frameOnce(data, () => dataFrame(id, data)) : dataFrame(id, data);
      if (!stream.write(frame)) return;
    }
    stream.write(RETURN_FRAME);
  } catch (cause) {
    // The stream was dropped (client gone, stalled): the abort ends the events with an AbortError.
    if (stream.open) stream.write(errorFrame(getTRPCErrorFromUnknown(cause)));
  } finally {
    stream.end();
  }
}

function dataFrame(id: string, data: unknown): Uint8Array {
  return sseFrame({ data: JSON.stringify(wireTransformer.output.serialize(data)), id });
}
