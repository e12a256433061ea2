import type { ApiMetrics } from '@hearth/api';
import { AppError, type LlmClient, type LlmRequest, type LlmStreamEvent, type RunEvent } from '@hearth/core';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Readings taken when /metrics is scraped, not kept up to date on every change. */
export interface MetricsProbes {
  openStreams(): number;
  activeReservations(): Promise<number>;
  /** One round trip to the store. */
  pingStore(): Promise<void>;
}

interface LiveRun {
  model: string;
  startedAt: number;
  firstTokenSeen: boolean;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RUN_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Hearth's Prometheus metrics (prom-client). It is fed from three places: the HTTP layer
 * (`ApiMetrics`), the run hub (every event every run publishes in this process) and the model
 * client (wrapped by `measureLlm`); gauges are read from `probes` at scrape time.
 */
export class HearthMetrics implements ApiMetrics {
  readonly registry = new Registry();
  private readonly runs = new Map<string, LiveRun>();

  private readonly httpRequests = new Counter({
    name: 'hearth_http_requests_total',
    help: 'HTTP requests answered, by route (the matched pattern or tRPC procedure), method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'hearth_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (for a stream: until it opened).',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'hearth_api_errors_total',
    help: 'Errors answered to clients, by appCode.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly budgetRefusals = new Counter({
    name: 'hearth_budget_refusals_total',
    help: 'Sends and model steps refused because the budget had nothing left (BUDGET_EXCEEDED).',
    registers: [this.registry],
  });
  private readonly runsStarted = new Counter({
    name: 'hearth_runs_started_total',
    help: 'Runs started in this process, by model.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  private readonly runsEnded = new Counter({
    name: 'hearth_runs_total',
    help: 'Runs ended in this process, by status (completed, failed, cancelled) and model.',
    labelNames: ['status', 'model'] as const,
    registers: [this.registry],
  });
  private readonly firstToken = new Histogram({
    name: 'hearth_run_first_token_seconds',
    help: "Time from a run's start to its first text.",
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly runDuration = new Histogram({
    name: 'hearth_run_duration_seconds',
    help: "Time from a run's start to its end, by status.",
    labelNames: ['status'] as const,
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'hearth_tokens_total',
    help: 'Tokens billed, by model and kind (prompt, completion).',
    labelNames: ['model', 'kind'] as const,
    registers: [this.registry],
  });
  private readonly cost = new Counter({
    name: 'hearth_cost_usd_total',
    help: 'Cost billed to users, in US dollars, by model.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  private readonly upstreamFirstByte = new Histogram({
    name: 'hearth_upstream_first_event_seconds',
    help: "Time from a model request to the model's first streamed event.",
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly upstreamFailures = new Counter({
    name: 'hearth_upstream_failures_total',
    help: 'Model requests that failed (not cancelled), by appCode.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  constructor(probes: MetricsProbes) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'hearth_open_streams',
      help: 'Run event streams open now in this process.',
      registers: [this.registry],
      collect() {
        this.set(probes.openStreams());
      },
    });
    new Gauge({
      name: 'hearth_active_reservations',
      help: 'Budget reservations held now by model steps in flight (all processes sharing the store).',
      registers: [this.registry],
      async collect() {
        this.set(await probes.activeReservations());
      },
    });
    new Gauge({
      name: 'hearth_store_ping_seconds',
      help: 'One round trip to the store, measured at scrape time.',
      registers: [this.registry],
      async collect() {
        const started = performance.now();
        await probes.pingStore();
        this.set((performance.now() - started) / 1000);
      },
    });
  }

  requestObserved({ route, method, status, seconds }: Parameters<ApiMetrics['requestObserved']>[0]): void {
    this.httpRequests.inc({ route, method, status: String(status) });
    this.httpDuration.observe({ route, method }, seconds);
  }

  errorObserved(appCode: string): void {
    this.errors.inc({ code: appCode });
    if (appCode === 'BUDGET_EXCEEDED') this.budgetRefusals.inc();
  }

  /** For the run hub: every event of every run published in this process. */
  readonly runEventObserved = (runId: string, event: RunEvent): void => {
    if (event.type === 'run.started') {
      this.runs.set(runId, { model: event.model, startedAt: performance.now(), firstTokenSeen: false });
      this.runsStarted.inc({ model: event.model });
      return;
    }
    const run = this.runs.get(runId);
    if (!run) return;
    if (event.type === 'text.delta' && !run.firstTokenSeen) {
      run.firstTokenSeen = true;
      this.firstToken.observe({ model: run.model }, (performance.now() - run.startedAt) / 1000);
    } else if (event.type === 'usage') {
      this.tokens.inc({ model: run.model, kind: 'prompt' }, event.promptTokens);
      this.tokens.inc({ model: run.model, kind: 'completion' }, event.completionTokens);
      this.cost.inc({ model: run.model }, event.costUsd);
    } else if (event.type === 'run.completed' || event.type === 'run.failed' || event.type === 'run.cancelled') {
      const status = event.type.slice('run.'.length);
      this.runs.delete(runId);
      this.runsEnded.inc({ status, model: run.model });
      this.runDuration.observe({ status }, (performance.now() - run.startedAt) / 1000);
      if (event.type === 'run.failed' && event.appCode === 'BUDGET_EXCEEDED') this.budgetRefusals.inc();
    }
  };

  /** The model client, measured: time to its first event and its failures. */
  measureLlm(llm: LlmClient): LlmClient {
    const metrics = this;
    return {
      defaultModel: llm.defaultModel,
      isOffline: llm.isOffline,
      probe: () => llm.probe(),
      async *stream(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
        const started = performance.now();
        let first = true;
        try {
          for await (const event of llm.stream(request)) {
            if (first) {
              first = false;
              metrics.upstreamFirstByte.observe({ model: request.model }, (performance.now() - started) / 1000);
            }
            yield event;
          }
        } catch (error) {
          if (!request.signal.aborted) metrics.upstreamFailures.inc({ code: appCodeOfFailure(error) });
          throw error;
        }
      },
    };
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function appCodeOfFailure(error: unknown): string {
  return error instanceof AppError ? error.appCode : 'INTERNAL';
}
