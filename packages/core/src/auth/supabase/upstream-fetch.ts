/**
 * The fetch supabase-js calls Supabase Auth with. Each request gets a time limit (fetch has none of its
 * own), and a request that gets no HTTP answer comes back as a 503, or a 504 when the limit ran out:
 * its Auth client reports either as a retryable failure, as it would the network error, but without
 * printing a stack to the console as it does for a fetch that throws.
 */
export function upstreamFetch(timeoutMs: number): typeof fetch {
  return async (input, init) => {
    const limit = AbortSignal.timeout(timeoutMs);
    try {
      return await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, limit]) : limit });
    } catch (error) {
      const timedOut = limit.aborted && error instanceof DOMException && error.name === 'TimeoutError';
      return Response.json({ msg: timedOut ? 'no answer in time' : 'unreachable' }, { status: timedOut ? 504 : 503 });
    }
  };
}
