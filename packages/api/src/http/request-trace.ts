import { tracer } from '@hearth/core';
import { context, propagation, SpanKind, SpanStatusCode, type TextMapGetter, trace } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import { metricsRoute } from './request-metrics';

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

/**
 * One server span per request, named by its route as metrics count it (`POST /trpc/chat.send`),
 * continuing the caller's trace when it sent a W3C `traceparent`. It is the active span while the
 * handlers run, so a chat run started by the request is its child. No query string, body or
 * header value goes on it. Without a registered OpenTelemetry provider all of this is a no-op.
 */
export function requestTrace(procedures: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    const caller = propagation.extract(context.active(), c.req.raw.headers, headerGetter);
    const span = tracer().startSpan(
      c.req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': c.req.method,
          'url.path': c.req.path,
          'hearth.request.id': c.get('requestId'),
        },
      },
      caller,
    );
    try {
      await context.with(trace.setSpan(caller, span), next);
    } finally {
      const route = metricsRoute(c, procedures);
      // A request no route answered is named by its method alone, as OpenTelemetry's conventions say.
      if (route !== '(other)') {
        span.updateName(`${c.req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', c.res.status);
      if (c.res.status >= 500) {
        span.setAttribute('error.type', String(c.res.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    }
  };
}
