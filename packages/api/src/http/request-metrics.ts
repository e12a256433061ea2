import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';

/** What the HTTP layer reports for metrics; the composition root decides where it goes (Prometheus). */
export interface ApiMetrics {
  requestObserved(request: { route: string; method: string; status: number; seconds: number }): void;
  /** Every error answered in the contract's shape, by appCode (BUDGET_EXCEEDED, RATE_LIMITED, …). */
  errorObserved(appCode: string): void;
}

/**
 * The route a request is counted under: the matched pattern (`/api/v1/chat/runs/:runId/events`),
 * or the procedure for tRPC. Never the raw path, whose ids would make a series per request.
 */
export function metricsRoute(c: Context, procedures: ReadonlySet<string>): string {
  const path = c.req.path;
  if (path.startsWith('/trpc/')) {
    const called = path.slice('/trpc/'.length);
    if (procedures.has(called)) return `/trpc/${called}`;
    return called.includes(',') ? '/trpc/(batch)' : '/trpc/(unknown)';
  }
  // After the handlers ran, routeIndex is the route that answered.
  const pattern = matchedRoutes(c)[c.req.routeIndex]?.path;
  return !pattern || pattern === '/*' || pattern === '*' ? '(other)' : pattern;
}

export function requestMetrics(metrics: ApiMetrics, procedures: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    metrics.requestObserved({
      route: metricsRoute(c, procedures),
      method: c.req.method,
      status: c.res.status,
      seconds: (performance.now() - started) / 1000,
    });
  };
}
