import type { MiddlewareHandler } from 'hono';
import type { ApiLogger } from '../context';

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
    if (c.res.status >= 500) logger.error(fields, 'request failed');
    else logger.info(fields, 'request');
  };
}
