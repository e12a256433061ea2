import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from '@hearth/api';
import {
  AccountGate,
  AccountService,
  AccountStatus,
  AdminService,
  AgentService,
  ApiKeyAuthProvider,
  ApiKeyService,
  ApiKeyStore,
  AttachmentChat,
  AuthThrottle,
  BuiltinLedger,
  ChatService,
  type Clock,
  CompletionService,
  connectRedis,
  DataRightsService,
  DrizzleChatStore,
  type Ledger,
  LiteLlmAdmin,
  LiteLlmLedger,
  type LlmClient,
  MemoryRateLimiter,
  MemoryStreamSlots,
  ModelCatalog,
  migrateStore,
  OFFLINE_MODEL,
  OfflineModel,
  OpenAiCompatibleClient,
  openStore,
  PriceTable,
  type RateLimiter,
  type RedisConnections,
  RedisRateLimiter,
  RedisRevocations,
  RedisRunEvents,
  RedisStreamSlots,
  type Revocations,
  RunHub,
  type SharedRunEvents,
  type Store,
  type StoreLocation,
  StoreUserService,
  type StreamCaps,
  type StreamSlots,
  safeError,
  schema,
  systemClock,
  TitleWriter,
  traceMethods,
  warmPdfReader,
} from '@hearth/core';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { agentBackendFor } from './agent-backend';
import { mcpToolboxFor } from './agent-tools';
import { attachmentServiceFor, attachmentStorageFor, sendBodyLimit } from './attachments';
import { authFor } from './auth-provider';
import { CleanupStack } from './cleanup-stack';
import { type Config, ConfigError, corsPolicy, lettaModels, llmModels, redactUrls } from './config';
import { createLogger, type Logger, logFormatFor } from './logger';
import { startMaintenance } from './maintenance';
import { HearthMetrics } from './observability/metrics';
import { metricsEndpoint } from './observability/metrics-endpoint';
import { startTracing } from './observability/tracing';
import { DEFAULT_WEB_APP_DIR, serveWebApp } from './web-app';

/** What a test (or another deployment) may put in place of the defaults. */
export interface HearthOverrides {
  clock?: Clock;
  rateLimiter?: RateLimiter;
  logger?: Logger;
  storeLocation?: StoreLocation;
  llm?: LlmClient;
  /** The built web app to serve at `/`; null serves none. Default: apps/web/dist, when it was built. */
  webAppDir?: string | null;
}

export function llmFor(config: Config): LlmClient {
  // With BILLING=litellm the model traffic goes through the proxy (each user's own key per request).
  const proxied = config.BILLING === 'litellm' && config.LITELLM_URL;
  if (!proxied && !config.LLM_BASE_URL) return new OfflineModel(config.OFFLINE_WORD_DELAY_MS);
  return new OpenAiCompatibleClient({
    baseUrl: proxied ? `${config.LITELLM_URL?.replace(/\/+$/, '')}/v1` : (config.LLM_BASE_URL ?? ''),
    apiKey: (proxied ? config.LITELLM_MASTER_KEY : config.LLM_API_KEY) ?? 'none',
    defaultModel: llmModels(config)[0] ?? config.LLM_MODEL,
    connectTimeoutMs: config.LLM_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: config.LLM_IDLE_TIMEOUT_MS,
  });
}

export interface Hearth {
  app: Hono;
  /** `/metrics` alone, to serve on METRICS_PORT; null when that is unset. */
  metricsApp: Hono | null;
  config: Config;
  store: Store;
  logger: Logger;
  /** A sentence for the start-up log: which store, auth and model are in use. */
  describe(): string;
  close(): Promise<void>;
}

export function storeLocationFor(config: Config): StoreLocation {
  return config.DATABASE_URL
    ? {
        kind: 'postgres',
        url: config.DATABASE_URL,
        maxConnections: config.DATABASE_POOL_SIZE,
        connectTimeoutSeconds: config.DATABASE_CONNECT_TIMEOUT_SECONDS,
      }
    : { kind: 'pglite', dataDir: join(config.dataDir, 'pgdata'), sharedBuffers: config.PGLITE_SHARED_BUFFERS };
}

export function pricesFor(config: Config): PriceTable {
  return new PriceTable(config.MODEL_PRICES_FILE ? PriceTable.readLiteLlmFile(config.MODEL_PRICES_FILE) : {}, [
    OFFLINE_MODEL,
  ]);
}

/**
 * The models users may choose, each with its price: LETTA_MODELS on Letta; on the built-in runtime
 * LLM_MODELS (or LLM_MODEL), or `hearth/offline` alone without a model endpoint. A model without a
 * price stops start-up: it could be neither reserved for nor billed.
 */
export function modelCatalogFor(config: Config, llm: LlmClient, prices: PriceTable): ModelCatalog {
  const [setting, ids] =
    config.AGENT_BACKEND === 'letta'
      ? [config.LETTA_MODELS ? 'LETTA_MODELS' : 'LETTA_MODEL', lettaModels(config)]
      : llm.isOffline
        ? ['LLM_MODEL', [OFFLINE_MODEL]]
        : [config.LLM_MODELS ? 'LLM_MODELS' : 'LLM_MODEL', config.LLM_MODELS ?? [llm.defaultModel]];
  return new ModelCatalog(
    ids.map((id) => {
      const price = prices.get(id);
      if (!price) {
        throw new ConfigError(
          `Invalid setting ${setting}: "${id}" has no price; add it to a MODEL_PRICES_FILE (LiteLLM's price-map format)`,
        );
      }
      return { id, price };
    }),
  );
}

/**
 * Who writes conversation titles: the run's own model on the built-in runtime (the offline model's
 * title is the message's first words). On Letta, whose model calls are Letta's, Hearth's own model
 * client when one is configured and priced (LLM_BASE_URL, LLM_MODELS' first), else the offline one.
 */
function titleWriterFor(
  config: Config,
  deps: {
    llm: LlmClient;
    ledger: Ledger;
    prices: PriceTable;
    logger: Logger;
    apiKeyFor: ((userId: string) => Promise<string>) | undefined;
  },
): TitleWriter {
  const { llm, ledger, prices, logger, apiKeyFor } = deps;
  if (config.AGENT_BACKEND !== 'letta') return new TitleWriter({ llm, ledger, apiKeyFor, logger });
  if (!llm.isOffline && prices.get(llm.defaultModel)) {
    return new TitleWriter({ llm, ledger, model: llm.defaultModel, apiKeyFor, logger });
  }
  return new TitleWriter({ llm: new OfflineModel(), ledger, model: OFFLINE_MODEL, logger });
}

/** The operator's limit for everyone an admin has set none for: DEFAULT_BUDGET_USD, else the ceiling. */
export function operatorLimitMicros(config: Config): number | null {
  const usd = config.DEFAULT_BUDGET_USD ?? config.BUDGET_CEILING_USD;
  return usd === undefined ? null : Math.round(usd * 1_000_000);
}

/** The ledger the config names: the built-in one, with the LiteLLM proxy in front of it for BILLING=litellm. */
export function ledgerFor(
  config: Config,
  deps: {
    store: Store;
    clock: Clock;
    prices: PriceTable;
    soleWriter: boolean;
    onWriteError?: (error: unknown) => void;
  },
): { ledger: Ledger; litellm: LiteLlmAdmin | null; litellmLedger: LiteLlmLedger | null } {
  const builtinLedger = new BuiltinLedger({
    db: deps.store.db,
    clock: deps.clock,
    prices: deps.prices,
    defaultLimitMicros: operatorLimitMicros(config),
    defaultPeriod: config.DEFAULT_BUDGET_PERIOD,
    ceilingMicros: config.BUDGET_CEILING_USD === undefined ? null : Math.round(config.BUDGET_CEILING_USD * 1_000_000),
    reservationTtlMs: config.RESERVATION_TTL_SECONDS * 1000,
    soleWriter: deps.soleWriter,
    ...(deps.onWriteError ? { onWriteError: deps.onWriteError } : {}),
  });
  const litellm =
    config.BILLING === 'litellm' && config.LITELLM_URL && config.LITELLM_MASTER_KEY
      ? new LiteLlmAdmin({ baseUrl: config.LITELLM_URL, masterKey: config.LITELLM_MASTER_KEY })
      : null;
  const litellmLedger = litellm ? new LiteLlmLedger(builtinLedger, litellm, deps.store.db, deps.clock) : null;
  const ledger = traceMethods(litellmLedger ?? builtinLedger, 'store', ['reserve', 'extend', 'settle', 'release']);
  return { ledger, litellm, litellmLedger };
}

/** What several instances share through Redis (REDIS_URL); without it, each process keeps its own. */
interface SharedState {
  runEvents: SharedRunEvents | null;
  rateLimiter: RateLimiter | null;
  revocations: Revocations | null;
  streamSlots: StreamSlots | null;
}

const streamCapsOf = (config: Config): StreamCaps => ({
  perUser: config.STREAMS_PER_USER_MAX,
  perRun: config.STREAMS_PER_RUN_MAX,
});

/** How long start-up waits for a Redis that does not answer: a Redis restarting is a pause. */
const REDIS_STARTUP_WAIT_MS = 15_000;

async function redisAnswering(url: string, logger: Logger): Promise<RedisConnections> {
  const giveUpAt = performance.now() + REDIS_STARTUP_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectRedis(url);
    } catch (error) {
      if (performance.now() >= giveUpAt) {
        throw new ConfigError(`Invalid setting REDIS_URL: Redis did not answer (${safeError(error).message})`);
      }
      if (attempt === 1) logger.warn('Redis did not answer; trying again for 15 s');
      await sleep(Math.min(attempt * 250, 2_000));
    }
  }
}

async function sharedStateFor(
  config: Config,
  logger: Logger,
  cleanup: CleanupStack,
  localStreamSlots: StreamSlots,
): Promise<SharedState> {
  if (!config.REDIS_URL) {
    if (config.DATABASE_URL) {
      logger.warn(
        'DATABASE_URL without REDIS_URL: if more than one instance runs, a subscriber on an instance that is not running the run gets only its end, not its text as it streams, and login throttles, rate limits and open-stream caps count per instance; set REDIS_URL (docs/deploy.md)',
      );
    }
    return { runEvents: null, rateLimiter: null, revocations: null, streamSlots: null };
  }
  const redis = await redisAnswering(config.REDIS_URL, logger);
  cleanup.defer(() => redis.close());
  let reachable = true;
  redis.commands.on('close', () => {
    if (reachable)
      logger.warn(
        'lost the connection to Redis; reconnecting (live events of other instances pause; rate limits and open-stream caps count per instance meanwhile)',
      );
    reachable = false;
  });
  redis.commands.on('ready', () => {
    if (!reachable) logger.info('Redis is reachable again');
    reachable = true;
  });
  const runEvents = new RedisRunEvents({
    commands: redis.commands,
    subscriber: redis.subscriber,
    retentionMs: config.RUN_EVENT_RETENTION_SECONDS * 1000,
  });
  cleanup.defer(() => runEvents.close());
  const streamSlots = new RedisStreamSlots({
    client: redis.limits,
    caps: streamCapsOf(config),
    local: localStreamSlots,
  });
  cleanup.defer(() => streamSlots.close());
  return {
    runEvents,
    rateLimiter: new RedisRateLimiter(redis.limits),
    revocations: new RedisRevocations(redis.commands, redis.subscriber),
    streamSlots,
  };
}

/** The composition root: the one place that picks adapters and wires them together. */
export async function createHearth(config: Config, overrides: HearthOverrides = {}): Promise<Hearth> {
  // Everything opened is closed by close(), or at once if a later step of start-up fails.
  const cleanup = new CleanupStack();
  try {
    return await assemble(config, overrides, cleanup);
  } catch (error) {
    await cleanup.run().catch(() => {});
    throw error;
  }
}

async function assemble(config: Config, overrides: HearthOverrides, cleanup: CleanupStack): Promise<Hearth> {
  const logger = overrides.logger ?? createLogger(config.LOG_LEVEL, undefined, logFormatFor(config));
  const clock = overrides.clock ?? systemClock;
  const location = overrides.storeLocation ?? storeLocationFor(config);
  const store = await openStore(location);
  cleanup.defer(() => store.close());
  await migrateStore(store, location);
  // This instance's own open streams: the whole count without Redis, the fallback and the metric with it.
  const localStreamSlots = new MemoryStreamSlots(streamCapsOf(config));
  const shared = await sharedStateFor(config, logger, cleanup, localStreamSlots);
  const rateLimiter = overrides.rateLimiter ?? shared.rateLimiter ?? new MemoryRateLimiter(clock);

  const throttle = new AuthThrottle(rateLimiter, {
    login: {
      perEmail: config.LOGIN_MAX_FAILURES_PER_EMAIL,
      perIp: config.LOGIN_MAX_ATTEMPTS_PER_IP,
      windowMs: config.LOGIN_WINDOW_SECONDS * 1000,
    },
    registration: { perIp: config.REGISTER_MAX_PER_IP, windowMs: config.REGISTER_WINDOW_SECONDS * 1000 },
  });
  const auth = await authFor(config, { store, clock, throttle, revocations: shared.revocations });
  const apiKeys = new ApiKeyService(new ApiKeyStore(store.db), clock);

  const streamSlots = shared.streamSlots ?? localStreamSlots;
  // Collected only where someone can read them: an unread registry would be work for nothing.
  const metrics =
    config.METRICS_PORT !== undefined || config.METRICS_TOKEN
      ? new HearthMetrics({
          openStreams: () => localStreamSlots.openStreams(),
          activeReservations: () => store.db.$count(schema.reservations),
          pingStore: () => store.ping(),
        })
      : null;
  const unmeasuredLlm = overrides.llm ?? llmFor(config);
  const llm = metrics ? metrics.measureLlm(unmeasuredLlm) : unmeasuredLlm;
  const prices = pricesFor(config);
  const catalog = modelCatalogFor(config, llm, prices);
  // The embedded PGlite has one process writing it, which may then keep what it wrote in memory.
  const soleWriter = location.kind !== 'postgres';
  const { ledger, litellm, litellmLedger } = ledgerFor(config, {
    store,
    clock,
    prices,
    soleWriter,
    onWriteError: (error) => logger.error({ err: error }, 'a reservation could not be recorded'),
  });

  // On Letta, Letta connects to the MCP servers itself (agent-backend.ts).
  const tools = config.AGENT_BACKEND === 'builtin' ? await mcpToolboxFor(config, logger, cleanup) : null;
  const backend = agentBackendFor({
    config,
    tools,
    logger,
    db: store.db,
    soleWriter,
    clock,
    ledger,
    llm,
    catalog,
    apiKeyFor: litellmLedger ? (userId: string) => litellmLedger.keyFor(userId) : undefined,
  });
  const { runtime } = backend;
  const chatStore = traceMethods(
    new DrizzleChatStore(store.db, clock, soleWriter, config.INSTANCE_ID ?? randomUUID()),
    'store',
    ['startRun', 'turnContext', 'savePartial', 'saveSummary', 'finishRun'],
  );
  const attachmentStorage = attachmentStorageFor(config, store.db);
  const attachments = attachmentServiceFor(config, { db: store.db, catalog, logger, storage: attachmentStorage });
  const hub = new RunHub(config.RUN_EVENT_RETENTION_SECONDS * 1000, {
    observe: metrics?.runEventObserved,
    shared: shared.runEvents,
  });
  // The chat service is made after maintenance starts (start-up recovery first), and read by it later.
  let titlingRunIds: () => string[] = () => [];
  const stopMaintenance = await startMaintenance({
    titlingRunIds: () => titlingRunIds(),
    runs: chatStore,
    hub,
    ledger,
    logger,
    sharedStore: location.kind === 'postgres',
    stableInstanceId: config.INSTANCE_ID,
    store,
  });
  cleanup.defer(stopMaintenance);
  const chat = new ChatService({
    conversations: chatStore,
    messages: chatStore,
    runs: chatStore,
    hub,
    runtime,
    clock,
    logger,
    models: catalog,
    titles:
      config.CONVERSATION_TITLES === 'off'
        ? null
        : titleWriterFor(config, {
            llm,
            ledger,
            prices,
            logger,
            apiKeyFor: litellmLedger ? (userId: string) => litellmLedger.keyFor(userId) : undefined,
          }),
    historyLimit: 200,
    deltaBatchMs: config.STREAM_BATCH_MS,
    signals: store.runSignals,
    streamSlots,
    sharedEvents: shared.runEvents,
    limits: {
      rateLimiter,
      sendsPerMinute: config.SENDS_PER_MINUTE_MAX,
      runsPerUser: config.RUNS_PER_USER_MAX,
      sharedStore: location.kind === 'postgres',
    },
    turnAttachments: (userId, messageId) => attachments.forTurn(userId, messageId),
  });
  titlingRunIds = () => chat.titlingRunIds();
  // A cancel that reached another process sharing the store, for a run that lives here.
  cleanup.defer(await store.runSignals.listen((runId) => void hub.cancel(runId)));
  if (config.AGENT_BACKEND === 'builtin' && llm.isOffline) {
    logger.warn('no LLM_BASE_URL: answering with the built-in offline demo model (hearth/offline), not a real LLM');
  }

  const readiness = [{ name: 'store', check: () => store.ping() }, ...backend.readiness];
  if (auth.readiness) readiness.push(auth.readiness);
  if (litellm) readiness.push({ name: 'litellm', check: () => litellm.ping() });
  if (attachmentStorage.kind === 's3') {
    readiness.push({
      name: 'attachments',
      check: async () => {
        if ((await attachmentStorage.probe()) === false) throw new Error('the attachment bucket did not answer');
      },
    });
  }

  const status = new AccountStatus({
    db: store.db,
    clock,
    soleWriter,
    adminEmails: config.ADMIN_EMAILS,
    ...(shared.revocations ? { revocations: shared.revocations } : {}),
  });
  const admin = new AdminService({
    db: store.db,
    clock,
    ledger,
    status,
    cancelRuns: (userId) => chat.cancelUserRuns(userId),
    defaultLimitMicros: operatorLimitMicros(config),
    defaultPeriod: config.DEFAULT_BUDGET_PERIOD,
    readiness,
  });

  // Straight model calls (the OpenAI endpoint's gateway) go to the configured model, metered as agent steps are.
  const completions = new CompletionService({
    llm,
    ledger,
    prices,
    chat,
    models: config.AGENT_BACKEND === 'letta' ? (prices.get(llm.defaultModel) ? [llm.defaultModel] : []) : catalog.ids,
    maxOutputTokens: config.LLM_MAX_OUTPUT_TOKENS,
    outputSliceTokens: config.BUDGET_OUTPUT_SLICE_TOKENS,
    apiKeyFor: litellmLedger ? (userId: string) => litellmLedger.keyFor(userId) : undefined,
  });

  // Outermost: a disabled account is refused whatever it presents (session, refresh token, API key).
  const gate = new AccountGate(new ApiKeyAuthProvider(auth.provider, apiKeys), status, store.db, clock);
  const dataRights = new DataRightsService({
    db: store.db,
    clock,
    auth: gate,
    status,
    runtime,
    cancelRuns: (userId) => chat.cancelUserRuns(userId),
    activeRunIds: (userId) => chatStore.activeRunIds(userId),
    deleteBillingUser: litellmLedger ? (userId) => litellmLedger.deleteUser(userId) : undefined,
    attachments,
  });

  const cors = corsPolicy(config);
  const app = createApp({
    deps: {
      auth: gate,
      users: new StoreUserService(store.db, clock, runtime),
      chat: new AttachmentChat(chat, attachments, logger),
      attachments,
      agent: new AgentService(runtime, chatStore, chatStore, hub, catalog),
      account: new AccountService(ledger, runtime, chatStore, backend.modelInfo),
      apiKeys,
      admin,
      completions,
      dataRights,
    },
    logger,
    readiness,
    corsOrigins: cors.origins,
    allowLoopbackOrigins: cors.allowLoopback,
    trustProxy: config.TRUST_PROXY,
    maxSendBodyBytes: sendBodyLimit(config),
    remoteAddress: (c) => getConnInfo(c).remote.address ?? 'unknown',
    exposeErrorDetails: config.NODE_ENV === 'development',
    ...(metrics ? { metrics } : {}),
  });
  let metricsApp: Hono | null = null;
  if (metrics) {
    const endpoint = metricsEndpoint(metrics, config.METRICS_TOKEN ?? null);
    if (config.METRICS_PORT === undefined) app.get('/metrics', endpoint);
    else metricsApp = new Hono().get('/metrics', endpoint);
  }
  const webAppDir = overrides.webAppDir === undefined ? DEFAULT_WEB_APP_DIR : overrides.webAppDir;
  const servesWebApp = webAppDir !== null && serveWebApp(app, webAppDir);
  // Last, so its provider is flushed first at close.
  const tracing = await startTracing(config);
  if (tracing) cleanup.defer(() => tracing.shutdown());
  if (config.ATTACHMENTS_MAX_COUNT > 0) {
    // PDF.js loads in the background now rather than stalling every request when the first PDF comes.
    const warming = setTimeout(() => {
      warmPdfReader().catch((error: unknown) => logger.warn({ err: error }, 'could not load the PDF reader'));
    }, 1_000);
    warming.unref();
    cleanup.defer(() => clearTimeout(warming));
  }

  return {
    app,
    metricsApp,
    config,
    store,
    logger,
    describe: () => {
      const where =
        location.kind === 'postgres'
          ? 'PostgreSQL (DATABASE_URL)'
          : location.kind === 'pglite'
            ? `PGlite at ${location.dataDir}`
            : 'PGlite in memory';
      const redis = shared.runEvents ? ' + Redis (REDIS_URL)' : '';
      const web = servesWebApp ? '; web app at /' : '';
      const traces = tracing ? `; traces to ${redactUrls(tracing.url)}` : '';
      const mcp = tools ? `; MCP tools: ${tools.describe()}` : '';
      return `store: ${where}${redis}; ${auth.description}; ${backend.description}${mcp}${web}${traces}`;
    },
    close: () => cleanup.run(),
  };
}
