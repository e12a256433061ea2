import { resolve } from 'node:path';
import { parseProxyTrust } from '@hearth/api';
import { z } from 'zod';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A comma-separated list of model names, each once; unset (or only commas) is no list. */
const modelList = () =>
  z
    .string()
    .optional()
    .transform((value, context) => {
      const models = (value ?? '')
        .split(',')
        .map((model) => model.trim())
        .filter(Boolean);
      const repeated = models.find((model, index) => models.indexOf(model) !== index);
      if (repeated) {
        context.addIssue({ code: 'custom', message: `"${repeated}" is listed twice` });
        return z.NEVER;
      }
      return models.length > 0 ? models : undefined;
    });

/** What the server name of an MCP_SERVERS entry may be: it starts the names of its tools (`<name>__<tool>`). */
const MCP_SERVER_NAME = /^[A-Za-z0-9-]{1,32}$/;

const stringMap = z.record(z.string(), z.string());

const mcpServer = z.discriminatedUnion('transport', [
  z.strictObject({
    name: z.string().regex(MCP_SERVER_NAME, 'expected 1-32 letters, digits or dashes'),
    transport: z.literal('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).optional(),
    env: stringMap.optional(),
    cwd: z.string().min(1).optional(),
  }),
  z.strictObject({
    name: z.string().regex(MCP_SERVER_NAME, 'expected 1-32 letters, digits or dashes'),
    transport: z.literal('http'),
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    headers: stringMap.optional(),
  }),
]);

/**
 * MCP_SERVERS: a JSON list of servers. The problem is told by its place in the list, never by a
 * value: an entry's env and headers hold tokens.
 */
const mcpServers = () =>
  z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined) return undefined;
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch {
        context.addIssue({ code: 'custom', message: 'expected a JSON list of servers' });
        return z.NEVER;
      }
      const parsed = z.array(mcpServer).safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue?.path.length ? issue.path.join('.') : 'the list';
        context.addIssue({ code: 'custom', message: `${where}: ${issue?.message ?? 'not valid'}` });
        return z.NEVER;
      }
      const names = parsed.data.map((server) => server.name);
      const repeated = names.find((name, index) => names.indexOf(name) !== index);
      if (repeated) {
        context.addIssue({ code: 'custom', message: `the server name "${repeated}" is used twice` });
        return z.NEVER;
      }
      return parsed.data;
    });

/** Every setting Hearth reads, with its default. `.env.example` lists the same names. */
export const configSchema = z
  .object({
    NODE_ENV: z
      .enum(['development', 'production', 'test'])
      .default('production')
      .describe('`development` shows error stacks to clients; nothing else does.'),
    PORT: integer(0, 65_535).default(8787).describe('The HTTP port.'),
    HOST: z.string().min(1).optional().describe('The address to listen on. Unset: every interface, IPv4 and IPv6.'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('The pino log level.'),
    LOG_FORMAT: z
      .enum(['json', 'pretty'])
      .optional()
      .describe(
        '`json`: one JSON object per line. `pretty`: coloured lines for a terminal. Unset: `pretty` when NODE_ENV=development, else `json`.',
      ),
    METRICS_PORT: integer(0, 65_535)
      .optional()
      .describe(
        'Serve Prometheus metrics at `/metrics` on this port of their own (keep it off the public network; 0 picks a free port). Unset: see METRICS_TOKEN.',
      ),
    METRICS_TOKEN: z
      .string()
      .min(16, 'expected at least 16 characters')
      .optional()
      .describe(
        'Serve `/metrics` on the public port to requests with `Authorization: Bearer <token>` (also required on METRICS_PORT when both are set). With neither set, there is no /metrics.',
      ),
    OTEL_EXPORTER_OTLP_ENDPOINT: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .optional()
      .describe(
        'Send OpenTelemetry traces over OTLP/HTTP (JSON) to this collector base URL; `/v1/traces` is appended (e.g. `http://collector:4318`). Unset (and no OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): no traces, and the SDK is not loaded.',
      ),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .optional()
      .describe('The full URL traces are sent to, used as it is; wins over OTEL_EXPORTER_OTLP_ENDPOINT.'),
    OTEL_SERVICE_NAME: z
      .string()
      .trim()
      .min(1)
      .default('hearth')
      .describe("The `service.name` of this server's traces."),
    HEARTH_DATA_DIR: z
      .string()
      .min(1)
      .default('.hearth')
      .describe(
        'Where the embedded PGlite database and the generated signing key live, relative to where the server starts.',
      ),
    PGLITE_SHARED_BUFFERS: z
      .string()
      .trim()
      .regex(/^[1-9]\d*(kB|MB|GB)$/, 'expected a size such as 16MB')
      .default('16MB')
      .describe(
        "PostgreSQL's `shared_buffers` for the embedded PGlite: its page cache inside WebAssembly memory, and most of the server's idle RSS (128MB costs ~120 MB more than 16MB). Reads past it come from the OS file cache.",
      ),
    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// or postgresql:// URL' })
      .optional()
      .describe('A `postgres://` URL: use PostgreSQL (or Supabase Postgres) instead of the embedded PGlite.'),
    DATABASE_POOL_SIZE: integer(1, 200).default(10).describe('PostgreSQL connections per server process.'),
    INSTANCE_ID: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe(
        "This server's name among those sharing one PostgreSQL, stable across its restarts and unique among live ones (e.g. the pod name): a restart then ends the runs it left at once. Unset: a new id per start, and a dead process's runs are ended once they miss their heartbeats (within 15 s).",
      ),
    REDIS_URL: z
      .url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' })
      .optional()
      .describe(
        'A `redis://` URL, for several instances on one PostgreSQL: every instance then streams every run live, and login throttles and rate limits count for all instances together (see docs/deploy.md).',
      ),
    DATABASE_CONNECT_TIMEOUT_SECONDS: integer(1, 600)
      .default(30)
      .describe('How long a connection to PostgreSQL may take before it counts as failed (start-up then stops).'),
    AUTH_PROVIDER: z
      .enum(['builtin', 'supabase'])
      .default('builtin')
      .describe(
        "`builtin`: accounts in Hearth's own store. `supabase`: accounts in Supabase Auth (see docs/deploy.md).",
      ),
    SUPABASE_URL: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .optional()
      .describe('The Supabase project URL (`https://<ref>.supabase.co`); Auth is under `/auth/v1`.'),
    SUPABASE_ANON_KEY: z
      .string()
      .min(1)
      .optional()
      .describe("The Supabase project's publishable (anon) key. Hearth needs no service-role key."),
    SUPABASE_JWT_SECRET: z
      .string()
      .min(32, 'must be at least 32 characters')
      .optional()
      .describe('Legacy Supabase projects only: the HS256 secret their access tokens are signed with.'),
    JWT_SECRET: z
      .string()
      .min(32, 'must be at least 32 characters')
      .optional()
      .describe(
        'The HS256 key for access tokens, at least 32 characters. Unset: one is generated into HEARTH_DATA_DIR. Set it when several processes share a database.',
      ),
    JWT_ISSUER: z.string().min(1).default('hearth').describe('The `iss` claim of access tokens.'),
    ACCESS_TOKEN_TTL_SECONDS: integer(60, 86_400).default(900).describe('How long an access token is valid.'),
    SESSION_TTL_DAYS: integer(1, 365).default(30).describe('A session ends after this long without a refresh.'),
    LOGIN_MAX_FAILURES_PER_EMAIL: integer(1, 1_000)
      .default(5)
      .describe('Failed logins per email in one window before `RATE_LIMITED`.'),
    LOGIN_MAX_ATTEMPTS_PER_IP: integer(1, 100_000).default(30).describe('Login attempts per client IP in one window.'),
    LOGIN_WINDOW_SECONDS: integer(1, 86_400).default(900).describe('The login throttling window.'),
    REGISTER_MAX_PER_IP: integer(1, 1_000_000)
      .default(10)
      .describe(
        'Sign-ups allowed per client IP in one window, whatever their outcome (an account made, `EMAIL_TAKEN`).',
      ),
    REGISTER_WINDOW_SECONDS: integer(1, 86_400).default(3_600).describe('The sign-up throttling window.'),
    CORS_ORIGINS: z
      .string()
      .optional()
      .transform((value) =>
        value
          ?.split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .describe(
        'Browser origins allowed by CORS, comma-separated; `*` allows any. With `NODE_ENV=development`, and when unset outside production, any http(s) origin on `localhost`, `127.0.0.1` or `[::1]` (any port) is allowed too. Unset in production: `http://localhost:3000,http://localhost:5173`.',
      ),
    TRUST_PROXY: z
      .string()
      .transform((value, context) => {
        try {
          return parseProxyTrust(value);
        } catch (error) {
          context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'not valid' });
          return z.NEVER;
        }
      })
      .prefault('false')
      .describe(
        "Which reverse proxies may name the client in `X-Forwarded-For`: `false` (none), `true` (one: the peer), a hop count, or the proxies' addresses and CIDR ranges, comma-separated. The client is read from the right, past the trusted hops.",
      ),
    LLM_BASE_URL: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .optional()
      .describe(
        'Any OpenAI-compatible endpoint (OpenAI, the LiteLLM proxy, Ollama, vLLM). Unset: the offline demo model `hearth/offline`.',
      ),
    LLM_API_KEY: z.string().min(1).optional().describe('The API key for LLM_BASE_URL.'),
    LLM_MODEL: z
      .string()
      .min(1)
      .default('gpt-4o-mini')
      .describe(
        'The model the agent uses: the one-model shorthand of LLM_MODELS, which wins when both are set. It needs a price (the built-in table or MODEL_PRICES_FILE).',
      ),
    LLM_MODELS: modelList().describe(
      'The models users may choose (`chat.models`), comma-separated; the first is the default. Each needs a price (the built-in table or MODEL_PRICES_FILE), or start-up stops naming it. Unset: LLM_MODEL alone. Without LLM_BASE_URL: `hearth/offline` alone.',
    ),
    LLM_CONTEXT_WINDOW: integer(1_024, 10_000_000)
      .optional()
      .describe("The model's context window in tokens. Unset: the model's window from the price table."),
    LLM_MAX_OUTPUT_TOKENS: integer(1, 1_000_000)
      .default(4_096)
      .describe('The most output tokens one model step may write.'),
    LLM_CONNECT_TIMEOUT_MS: integer(100, 600_000)
      .default(10_000)
      .describe('How long a model request waits to connect and for its answer to start.'),
    LLM_IDLE_TIMEOUT_MS: integer(100, 600_000)
      .default(60_000)
      .describe('How long a model stream may stay silent between chunks.'),
    CONVERSATION_TITLES: z
      .enum(['on', 'off'])
      .default('on')
      .describe(
        '`on`: a conversation with no title gets one after its first answer, written by the model and billed to the user. `off`: titles are only what users set.',
      ),
    AGENT_MAX_STEPS: integer(1, 50)
      .default(8)
      .describe('Model steps (calls) one agent turn may take, tool calls included.'),
    MCP_SERVERS: mcpServers().describe(
      'MCP servers whose tools every agent is offered beside its memory tools, as `<name>__<tool>`: a JSON list of `{"name","transport":"stdio","command","args"?,"env"?,"cwd"?}` or `{"name","transport":"http","url","headers"?}` (streamable HTTP). A stdio server gets only `env` and a few safe variables (PATH, HOME…), none of Hearth\'s. A server that is down at start-up or later is warned about and tried again; its tools are left out meanwhile. With AGENT_BACKEND=letta they are registered with Letta, which connects to them itself (a stdio command runs on the Letta host; `cwd` is not passed). Unset: no MCP tools.',
    ),
    MCP_TOOL_TIMEOUT_MS: integer(100, 600_000)
      .default(30_000)
      .describe(
        "How long one MCP tool call may take; past it the call fails for the model to read and the turn goes on. Built-in agent only: on Letta, Letta's own timeout applies.",
      ),
    MCP_TOOL_RESULT_MAX_TOKENS: integer(16, 1_000_000)
      .default(4_000)
      .describe(
        "The most tokens of one MCP tool result that reach the model; the rest is cut, with a note saying so. On Letta: each tool's `return_char_limit`, at four characters a token.",
      ),
    OFFLINE_WORD_DELAY_MS: integer(0, 1_000)
      .default(15)
      .describe("The pause between the offline model's words, so streaming is visible in a demo."),
    RUN_EVENT_RETENTION_SECONDS: integer(60, 86_400)
      .default(600)
      .describe("How long a finished run's events stay available for replay."),
    STREAM_BATCH_MS: integer(0, 1_000)
      .default(50)
      .describe(
        'Text deltas arriving within this long of the last one sent go out as one event; the first goes out at once. 0 sends every delta the provider sends.',
      ),
    STREAMS_PER_USER_MAX: integer(1, 100_000)
      .default(20)
      .describe('Event streams (`chat.events`) one user may have open at once, over all their runs and tabs.'),
    STREAMS_PER_RUN_MAX: integer(1, 100_000)
      .default(10)
      .describe('Event streams that may follow one run at once (tabs showing the same conversation).'),
    RUNS_PER_USER_MAX: integer(1, 10_000)
      .default(3)
      .describe(
        'Runs (answers being written) one user may have at once, over all conversations and instances; one more is `RATE_LIMITED`.',
      ),
    SENDS_PER_MINUTE_MAX: integer(1, 100_000)
      .default(30)
      .describe(
        'Messages one user may send per minute, over all instances (shared through REDIS_URL); past it `RATE_LIMITED` with `retryAfterSeconds`.',
      ),
    MODEL_PRICES_FILE: z
      .string()
      .min(1)
      .optional()
      .describe("Extra or overriding model prices, in LiteLLM's price-map format."),
    ATTACHMENTS_MAX_COUNT: integer(0, 20)
      .default(5)
      .describe("Files one message may carry (`chat.send`'s `attachments`); 0 turns attachments off."),
    ATTACHMENTS_MAX_MB: z.coerce
      .number()
      .positive()
      .max(50)
      .default(10)
      .describe(
        "Megabytes (10^6 bytes, decoded) one message's attachments may be in all. The request body limit of `chat.send` (and `POST /api/v1/chat/message`) grows to fit them in base64.",
      ),
    ATTACHMENT_TEXT_MAX_TOKENS: integer(100, 200_000)
      .default(8_000)
      .describe(
        "Tokens of text one message's text-like files (PDF, text, Markdown, code) put into the context, all together; the rest is cut with a marker saying so.",
      ),
    ATTACHMENT_STORAGE: z
      .enum(['database', 's3'])
      .default('database')
      .describe(
        "Where attachments' bytes are kept: `database` (Hearth's store: PGlite or PostgreSQL), or `s3`: an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, Supabase Storage's S3 endpoint). Their details are in the database either way.",
      ),
    S3_ENDPOINT: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .optional()
      .describe(
        "ATTACHMENT_STORAGE=s3: the service URL, e.g. `https://s3.eu-west-1.amazonaws.com` or Supabase's `https://<ref>.supabase.co/storage/v1/s3`. Objects are addressed path-style (`<endpoint>/<bucket>/<key>`).",
      ),
    S3_BUCKET: z.string().min(1).optional().describe('ATTACHMENT_STORAGE=s3: the bucket (it must exist).'),
    S3_REGION: z
      .string()
      .min(1)
      .default('us-east-1')
      .describe('ATTACHMENT_STORAGE=s3: the region requests are signed for.'),
    S3_ACCESS_KEY_ID: z.string().min(1).optional().describe('ATTACHMENT_STORAGE=s3: the access key id.'),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional().describe('ATTACHMENT_STORAGE=s3: the secret access key.'),
    DEFAULT_BUDGET_USD: z.coerce
      .number()
      .min(0)
      .max(1_000_000)
      .optional()
      .describe(
        "The operator's limit for every user, in USD per budget period, until an admin sets one for the user (`admin.setBudget`, `pnpm hearth budget set`). A user may only lower their own. Unset: BUDGET_CEILING_USD, or no limit.",
      ),
    DEFAULT_BUDGET_PERIOD: z
      .enum(['day', 'week', 'month', 'none'])
      .default('month')
      .describe(
        'The period a new budget starts with, on the UTC calendar (midnight, Monday, the 1st); `none` never resets. An admin changes it per user.',
      ),
    BUDGET_CEILING_USD: z.coerce
      .number()
      .min(0)
      .max(1_000_000)
      .optional()
      .describe(
        "The highest limit an admin may set for a user, and the operator's limit when DEFAULT_BUDGET_USD is unset. Unset: no ceiling.",
      ),
    ADMIN_EMAILS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((email) => email.trim())
          .filter(Boolean),
      )
      .describe(
        'Accounts that get the `admin` role when they register or log in, comma-separated. The other way to a first admin: `pnpm hearth admin grant <email>`.',
      ),
    BUDGET_OUTPUT_SLICE_TOKENS: integer(16, 1_000_000)
      .default(256)
      .describe(
        'Output tokens a model step reserves at a time, extending its reservation as the answer streams (built-in agent).',
      ),
    RESERVATION_TTL_SECONDS: integer(60, 86_400)
      .default(900)
      .describe('An unsettled budget reservation that has not moved for this long was left by a crash and is settled.'),
    BILLING: z
      .enum(['builtin', 'litellm'])
      .default('builtin')
      .describe(
        "`builtin`: Hearth's ledger alone. `litellm`: users, keys and budgets also on a LiteLLM proxy, and model traffic through it.",
      ),
    LITELLM_URL: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .optional()
      .describe("The LiteLLM proxy's URL (with BILLING=litellm)."),
    LITELLM_MASTER_KEY: z
      .string()
      .min(1)
      .optional()
      .describe("The LiteLLM proxy's master key (with BILLING=litellm); never sent to clients."),
    AGENT_BACKEND: z
      .enum(['builtin', 'letta'])
      .default('builtin')
      .describe("`builtin`: the agent runs in Hearth. `letta`: each user's agent is an agent on a Letta server."),
    LETTA_BASE_URL: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .optional()
      .describe("The Letta server's root, without `/v1` (Letta Cloud: `https://api.letta.com`)."),
    LETTA_API_KEY: z
      .string()
      .min(1)
      .optional()
      .describe("Letta Cloud's API key, or a self-hosted server's password. Unset for an open self-hosted server."),
    LETTA_MODEL: z
      .string()
      .min(1)
      .default('openai/gpt-4.1-mini')
      .describe(
        'The model handle (provider/name) new Letta agents are created with: the one-model shorthand of LETTA_MODELS, which wins when both are set. It needs a price.',
      ),
    LETTA_MODELS: modelList().describe(
      'The model handles (provider/name) a user may switch their Letta agent to (`agent.setModel`), comma-separated; the first is the default. Each needs a price. Unset: LETTA_MODEL alone.',
    ),
    LETTA_EMBEDDING: z
      .string()
      .min(1)
      .default('openai/text-embedding-3-small')
      .describe('The embedding handle (provider/name) new Letta agents are created with.'),
    LETTA_TIMEOUT_MS: integer(1_000, 600_000)
      .default(60_000)
      .describe('How long a request waits for Letta, and a stream for its next event (Letta pings every 20 s).'),
  })
  .superRefine((config, context) => {
    const require = (names: readonly (keyof typeof config)[], when: string) => {
      for (const name of names) {
        if (!config[name]) context.addIssue({ code: 'custom', path: [name], message: `required when ${when}` });
      }
    };
    if (
      config.DEFAULT_BUDGET_USD !== undefined &&
      config.BUDGET_CEILING_USD !== undefined &&
      config.DEFAULT_BUDGET_USD > config.BUDGET_CEILING_USD
    ) {
      context.addIssue({
        code: 'custom',
        path: ['DEFAULT_BUDGET_USD'],
        message: 'must not be above BUDGET_CEILING_USD',
      });
    }
    if (config.AUTH_PROVIDER === 'supabase') require(['SUPABASE_URL', 'SUPABASE_ANON_KEY'], 'AUTH_PROVIDER=supabase');
    if (config.BILLING === 'litellm') require(['LITELLM_URL', 'LITELLM_MASTER_KEY'], 'BILLING=litellm');
    if (config.AGENT_BACKEND === 'letta') require(['LETTA_BASE_URL'], 'AGENT_BACKEND=letta');
    if (config.ATTACHMENT_STORAGE === 's3') {
      require(['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'], 'ATTACHMENT_STORAGE=s3');
    }
    // Letta calls its models itself, with its own provider keys: per-user proxy keys cannot reach
    // those calls, so the proxy would neither bill nor limit them per user.
    if (config.AGENT_BACKEND === 'letta' && config.BILLING === 'litellm') {
      context.addIssue({
        code: 'custom',
        path: ['BILLING'],
        message: "litellm cannot meter Letta's model calls; use BILLING=builtin with AGENT_BACKEND=letta",
      });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;

export type Config = z.output<typeof configSchema> & {
  /** HEARTH_DATA_DIR made absolute. */
  dataDir: string;
};

const SECRET_SETTINGS = new Set([
  'JWT_SECRET',
  'DATABASE_URL',
  'LLM_API_KEY',
  'LITELLM_MASTER_KEY',
  'LETTA_API_KEY',
  'SUPABASE_ANON_KEY',
  'SUPABASE_JWT_SECRET',
  // Its stdio env and HTTP headers carry the tool servers' tokens.
  'MCP_SERVERS',
  'S3_SECRET_ACCESS_KEY',
]);

/** A setting whose value is never shown: the known secrets, and any name that says it holds one. */
function isSecretSetting(name: string): boolean {
  return SECRET_SETTINGS.has(name) || /(KEY|SECRET|PASSWORD|TOKEN)$/.test(name);
}

/**
 * A value that may be shown: any URL in it loses its user name and password, query and fragment,
 * where credentials and signed tokens travel (`ftp://user:hunter2@host/?token=…`). Text-based, so
 * a URL too broken to parse loses them too.
 */
/** Where the default CORS list applies: a production server with CORS_ORIGINS unset. */
const PRODUCTION_DEFAULT_CORS_ORIGINS = ['http://localhost:3000', 'http://localhost:5173'];

/**
 * Which browser origins may call: CORS_ORIGINS; in development (or CORS_ORIGINS unset outside
 * production) also any loopback origin, since dev servers and previews pick their own ports.
 */
/** The models users may choose on the built-in runtime with a real model: LLM_MODELS, else LLM_MODEL. */
export function llmModels(config: Pick<Config, 'LLM_MODEL' | 'LLM_MODELS'>): string[] {
  return config.LLM_MODELS ?? [config.LLM_MODEL];
}

/** The handles a Letta agent may run with: LETTA_MODELS, else LETTA_MODEL. */
export function lettaModels(config: Pick<Config, 'LETTA_MODEL' | 'LETTA_MODELS'>): string[] {
  return config.LETTA_MODELS ?? [config.LETTA_MODEL];
}

export function corsPolicy(config: Pick<Config, 'NODE_ENV' | 'CORS_ORIGINS'>): {
  origins: string[];
  allowLoopback: boolean;
} {
  const unset = config.CORS_ORIGINS === undefined;
  return {
    origins: config.CORS_ORIGINS ?? (config.NODE_ENV === 'production' ? PRODUCTION_DEFAULT_CORS_ORIGINS : []),
    allowLoopback: config.NODE_ENV === 'development' || (unset && config.NODE_ENV !== 'production'),
  };
}

export function redactUrls(value: string): string {
  return value
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s]*@/gi, '$1[redacted]@')
    .replace(/(:\/\/[^\s?#]*)[?#][^\s,]*/gi, '$1?[redacted]');
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Reads settings from an environment. Empty values count as unset, as in most .env files.
 * A bad value throws a ConfigError whose one-line message names the setting and the problem
 * (never the value of a secret).
 */
export function loadConfig(env: Record<string, string | undefined>, cwd = process.cwd()): Config {
  const present = Object.fromEntries(
    Object.keys(configSchema.shape)
      .map((key) => [key, env[key]?.trim()] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'configuration');
    const value = present[name];
    const shown = isSecretSetting(name) || value === undefined ? '' : ` (got "${redactUrls(value)}")`;
    throw new ConfigError(`Invalid setting ${name}: ${issue?.message ?? 'not valid'}${shown}`);
  }
  return { ...parsed.data, dataDir: resolve(cwd, parsed.data.HEARTH_DATA_DIR) };
}
