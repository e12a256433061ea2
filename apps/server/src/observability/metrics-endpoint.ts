import { timingSafeEqual } from 'node:crypto';
import type { Handler } from 'hono';
import type { HearthMetrics } from './metrics';

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `GET /metrics` in Prometheus's text format; with a token, only for `Authorization: Bearer <token>`. */
export function metricsEndpoint(metrics: HearthMetrics, token: string | null): Handler {
  return async (c) => {
    if (token !== null) {
      const header = c.req.header('authorization') ?? '';
      const given = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : '';
      if (!sameToken(given, token)) {
        return c.json({ error: 'Send the metrics token as `Authorization: Bearer <METRICS_TOKEN>`.' }, 401, {
          'www-authenticate': 'Bearer realm="metrics"',
        });
      }
    }
    return c.body(await metrics.render(), 200, { 'content-type': metrics.contentType });
  };
}
