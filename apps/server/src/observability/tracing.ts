import { context, propagation, trace } from '@opentelemetry/api';
import type { Config } from '../config';

export interface Tracing {
  /** Where the spans go. */
  url: string;
  /** Sends the spans still buffered, then unregisters the provider. */
  shutdown(): Promise<void>;
}

/**
 * Where OTLP/HTTP traces go, by OpenTelemetry's rules: the traces endpoint as it is, or
 * `v1/traces` appended to the base endpoint's path. Null when neither is set.
 */
export function tracesUrl(
  config: Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'>,
): string | null {
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!base) return null;
  return `${base.endsWith('/') ? base : `${base}/`}v1/traces`;
}

/**
 * Registers the OpenTelemetry Node SDK as this process's tracer provider, exporting in batches
 * over OTLP/HTTP (JSON), when an endpoint is configured; otherwise loads nothing and returns null,
 * and every span Hearth starts stays a no-op. The SDK also registers AsyncLocalStorage as the
 * context manager (a span's children are found across awaits) and the W3C Trace Context
 * propagator (an incoming `traceparent` is continued). Its own OTEL_* settings (OTEL_BSP_*,
 * OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS, …) are read from the environment by the SDK.
 */
export async function startTracing(config: Config): Promise<Tracing | null> {
  const url = tracesUrl(config);
  if (!url) return null;
  // Loaded only here: a server without traces does not pay for the SDK at start-up.
  const [{ BatchSpanProcessor, NodeTracerProvider }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.OTEL_SERVICE_NAME }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  provider.register();
  return {
    url,
    shutdown: async () => {
      await provider.shutdown();
      // So a later start in this process (a test's next server) can register its own.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
