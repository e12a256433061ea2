import type { TRPCError } from '@trpc/server';
import type { MiddlewareHandler } from 'hono';

/** Headers of the event stream that a plain error response must not keep. */
const STREAM_HEADERS = new Set(['content-type', 'cache-control', 'connection', 'x-accel-buffering']);

/** A subscription's failure before its stream opened, and the procedure it came from. */
interface OpeningError {
  error: TRPCError;
  path: string | undefined;
}

/**
 * tRPC awaits a subscription's resolver (input, session, ownership checks) before it answers, but
 * answers its failure as HTTP 200 with an error event in the stream, which a plain EventSource
 * takes for a dropped connection and reconnects to forever. A failure from before the response is
 * handed back was sent to no one yet, so it becomes a plain HTTP error here instead (404 for a run
 * the caller cannot see), with the same JSON body a query's error has. Failures after the stream
 * opened stay events in the stream.
 */
export function subscriptionOpeningErrors(toResponse: (failure: OpeningError) => Response) {
  /** GET requests being answered now, with the subscription error raised so far, if any. */
  const opening = new Map<Request, OpeningError | null>();
  const middleware: MiddlewareHandler = async (c, next) => {
    if (c.req.method !== 'GET') return next();
    const request = c.req.raw;
    opening.set(request, null);
    let failure: OpeningError | null | undefined;
    try {
      await next();
    } finally {
      failure = opening.get(request);
      opening.delete(request);
    }
    const stream = c.res;
    if (!failure || !stream.headers.get('content-type')?.startsWith('text/event-stream')) return;
    await stream.body?.cancel();
    // Set to undefined first: Hono would otherwise merge the stream's headers into the new response.
    c.res = undefined;
    c.res = toResponse(failure);
    for (const [name, value] of stream.headers) {
      if (!STREAM_HEADERS.has(name) && !c.res.headers.has(name)) c.res.headers.set(name, value);
    }
  };
  /** For tRPC's onError: keeps the first error of a subscription that has not opened yet. */
  const record = (failure: OpeningError & { type: string; req: Request }) => {
    const { error, path, type, req } = failure;
    if (type === 'subscription' && opening.get(req) === null) opening.set(req, { error, path });
  };
  return { middleware, record };
}
