import type { MiddlewareHandler } from 'hono';
import type { ApiLogger } from '../context';

/** Bad gateway, service unavailable, gateway timeout: a service the server calls failed, not the server. */
const UPSTREAM_STATUSES = new Set([502, 503, 504]);

/**
 * One line per request. Only the path is logged: query strings carry tRPC inputs and, for
 * browser subscriptions, access tokens.
 */
export function requestLog(logger: ApiLogger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const fields = {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    };
    if (UPSTREAM_STATUSES.has(c.res.status)) logger.warn(fields, 'request failed upstream');
    else if (c.res.status >= 500) logger.error(fields, 'request failed');
    else logger.info(fields, 'request');
  };
}
