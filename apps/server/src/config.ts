import { resolve } from 'node:path';
import { parseProxyTrust } from '@hearth/api';
import { z } from 'zod';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting Hearth reads, with its default. `.env.example` lists the same names. */
export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
    PORT: integer(0, 65_535).default(8787),
    /** Unset: every interface, IPv4 and IPv6. */
    HOST: z.string().min(1).optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    HEARTH_DATA_DIR: z.string().min(1).default('.hearth'),
    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// or postgresql:// URL' })
      .optional(),
    DATABASE_POOL_SIZE: integer(1, 200).default(10),
    /** builtin: accounts in Hearth's own store; supabase: accounts in Supabase Auth. */
    AUTH_PROVIDER: z.enum(['builtin', 'supabase']).default('builtin'),
    /** The Supabase project URL (https://<ref>.supabase.co); Auth is under /auth/v1. */
    SUPABASE_URL: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
    /** The project's publishable (anon) key. */
    SUPABASE_ANON_KEY: z.string().min(1).optional(),
    /** Legacy projects only: the HS256 secret their access tokens are signed with. */
    SUPABASE_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    JWT_ISSUER: z.string().min(1).default('hearth'),
    ACCESS_TOKEN_TTL_SECONDS: integer(60, 86_400).default(900),
    SESSION_TTL_DAYS: integer(1, 365).default(30),
    LOGIN_MAX_FAILURES_PER_EMAIL: integer(1, 1_000).default(5),
    LOGIN_MAX_ATTEMPTS_PER_IP: integer(1, 100_000).default(30),
    LOGIN_WINDOW_SECONDS: integer(1, 86_400).default(900),
    /** Sign-ups allowed per client IP in one window, whatever their outcome (an account made, EMAIL_TAKEN). */
    REGISTER_MAX_PER_IP: integer(1, 1_000_000).default(10),
    REGISTER_WINDOW_SECONDS: integer(1, 86_400).default(3_600),
    CORS_ORIGINS: z
      .string()
      .default('http://localhost:3000,http://localhost:5173')
      .transform((value) =>
        value
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      ),
    /**
     * Which reverse proxies may name the client in X-Forwarded-For: false (none), true (one: the peer),
     * a hop count, or the proxies' addresses and CIDR ranges, comma-separated.
     */
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
      .prefault('false'),
    /** Any OpenAI-compatible endpoint (OpenAI, LiteLLM proxy, Ollama, vLLM). Unset: the offline demo model. */
    LLM_BASE_URL: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
    LLM_API_KEY: z.string().min(1).optional(),
    LLM_MODEL: z.string().min(1).default('gpt-4o-mini'),
    /** Unset: the model's window from the price table. */
    LLM_CONTEXT_WINDOW: integer(1_024, 10_000_000).optional(),
    LLM_MAX_OUTPUT_TOKENS: integer(1, 1_000_000).default(4_096),
    LLM_CONNECT_TIMEOUT_MS: integer(100, 600_000).default(10_000),
    LLM_IDLE_TIMEOUT_MS: integer(100, 600_000).default(60_000),
    AGENT_MAX_STEPS: integer(1, 50).default(8),
    /** Pause between the offline model's words, so streaming is visible in a demo. */
    OFFLINE_WORD_DELAY_MS: integer(0, 1_000).default(15),
    RUN_EVENT_RETENTION_SECONDS: integer(60, 86_400).default(600),
    /** Text deltas arriving within this long of the last one sent go out as one event (the first at once). */
    STREAM_BATCH_MS: integer(0, 1_000).default(50),
    /** Extra or overriding model prices, in LiteLLM's price-map format. */
    MODEL_PRICES_FILE: z.string().min(1).optional(),
    /** New users' budget; unset: no limit. */
    DEFAULT_BUDGET_USD: z.coerce.number().min(0).max(1_000_000).optional(),
    DEFAULT_BUDGET_PERIOD: z.enum(['day', 'week', 'month', 'none']).default('month'),
    /** The most a user may set their own limit to; unset: no ceiling. */
    BUDGET_CEILING_USD: z.coerce.number().min(0).max(1_000_000).optional(),
    /** An unsettled reservation older than this is taken for orphaned by a crash and released. */
    RESERVATION_TTL_SECONDS: integer(60, 86_400).default(900),
    /** builtin: Hearth's ledger alone; litellm: users, keys and budgets also on a LiteLLM proxy. */
    BILLING: z.enum(['builtin', 'litellm']).default('builtin'),
    LITELLM_URL: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
    LITELLM_MASTER_KEY: z.string().min(1).optional(),
    /** builtin: the agent runs in Hearth; letta: each user's agent is a Letta agent. */
    AGENT_BACKEND: z.enum(['builtin', 'letta']).default('builtin'),
    /** The Letta server's root, without /v1 (Letta Cloud: https://api.letta.com). */
    LETTA_BASE_URL: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
    /** Letta Cloud's API key, or a self-hosted server's password; unset for an open self-hosted server. */
    LETTA_API_KEY: z.string().min(1).optional(),
    /** Model and embedding handles (provider/name) new Letta agents are created with. */
    LETTA_MODEL: z.string().min(1).default('openai/gpt-4.1-mini'),
    LETTA_EMBEDDING: z.string().min(1).default('openai/text-embedding-3-small'),
    /** How long a request waits for Letta, and a stream for its next event (Letta pings every 20 s). */
    LETTA_TIMEOUT_MS: integer(1_000, 600_000).default(60_000),
  })
  .superRefine((config, context) => {
    const require = (names: readonly (keyof typeof config)[], when: string) => {
      for (const name of names) {
        if (!config[name]) context.addIssue({ code: 'custom', path: [name], message: `required when ${when}` });
      }
    };
    if (config.AUTH_PROVIDER === 'supabase') require(['SUPABASE_URL', 'SUPABASE_ANON_KEY'], 'AUTH_PROVIDER=supabase');
    if (config.BILLING === 'litellm') require(['LITELLM_URL', 'LITELLM_MASTER_KEY'], 'BILLING=litellm');
    if (config.AGENT_BACKEND === 'letta') require(['LETTA_BASE_URL'], 'AGENT_BACKEND=letta');
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
]);

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
    const shown = SECRET_SETTINGS.has(name) || present[name] === undefined ? '' : ` (got "${present[name]}")`;
    throw new ConfigError(`Invalid setting ${name}: ${issue?.message ?? 'not valid'}${shown}`);
  }
  return { ...parsed.data, dataDir: resolve(cwd, parsed.data.HEARTH_DATA_DIR) };
}
