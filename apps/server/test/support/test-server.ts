import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Clock, type LlmClient, OpenAiCompatibleClient, type StoreLocation } from '@hearth/core';
import { createHearthClient, type HearthClient, type HearthClientOptions } from '@hearth/sdk';
import { createHearth, type Hearth } from '../../src/compose';
import { loadConfig } from '../../src/config';
import { listen } from '../../src/listen';
import { createLogger } from '../../src/logger';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export interface TestServer {
  url: string;
  /** `/metrics` on its own port, when started with METRICS_PORT. */
  metricsUrl: string | null;
  hearth: Hearth;
  /** A fresh SDK client for this server, signed out. */
  client(options?: Omit<HearthClientOptions, 'url'>): HearthClient;
  close(): Promise<void>;
  /** Everything logged so far, when started with `captureLogs`. */
  logs(): string;
}

export interface TestServerOptions {
  store: StoreLocation;
  env?: Record<string, string>;
  clock?: Clock;
  /** Log at debug level into memory instead of discarding. */
  captureLogs?: boolean;
  llm?: LlmClient;
  /** The built web app to serve at `/`; default none (the browser tests pass apps/web/dist). */
  webAppDir?: string | null;
}

/** The real server, built by the composition root and listening on a free port. */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-test-'));
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    HEARTH_DATA_DIR: dataDir,
    DATABASE_POOL_SIZE: '4',
    OFFLINE_WORD_DELAY_MS: '1',
    // Tests pace their models a millisecond a token; unbatched, each token stays an event to assert on.
    STREAM_BATCH_MS: '0',
    MODEL_PRICES_FILE: fileURLToPath(new URL('../fixtures/model-prices.json', import.meta.url)),
    // Every test signs up from 127.0.0.1; throttle.test.ts sets its own limit.
    REGISTER_MAX_PER_IP: '1000000',
    // Suites race a hundred sends of one user at once, each followed; chat-streams.test.ts tests the caps.
    STREAMS_PER_USER_MAX: '1000',
    // And send back to back; chat-limits.test.ts tests the per-user limits.
    SENDS_PER_MINUTE_MAX: '100000',
    RUNS_PER_USER_MAX: '10000',
    // A title is one more model call per new conversation: suites that script or count the model's
    // calls would see it. titles.test.ts (and models.test.ts' Letta suite) turn them on.
    CONVERSATION_TITLES: 'off',
    ...options.env,
  });
  const captured: string[] = [];
  const logger = options.captureLogs
    ? createLogger('debug', { write: (line: string) => void captured.push(line) })
    : undefined;
  const hearth = await createHearth(config, {
    storeLocation: options.store,
    ...(logger ? { logger } : {}),
    ...(options.llm ? { llm: options.llm } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    webAppDir: options.webAppDir ?? null,
  });
  const server = await listen(hearth, 0, '127.0.0.1');
  return {
    url: server.url,
    metricsUrl: server.metricsUrl,
    hearth,
    client: (clientOptions) => createHearthClient({ url: server.url, ...clientOptions }),
    logs: () => captured.join(''),
    close: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let counter = 0;

/** An email no other test (or earlier run on the same database) has used. */
export function uniqueEmail(tag = 'user'): string {
  counter += 1;
  return `${tag}-${Date.now().toString(36)}-${process.pid}-${counter}@example.com`;
}

export const PASSWORD = 'a sturdy passphrase 42';

/** A client signed in as a fresh user of `server`. */
export async function signedInClient(server: TestServer, tag = 'user'): Promise<HearthClient> {
  const client = server.client();
  await client.auth.register.mutate({ email: uniqueEmail(tag), password: PASSWORD });
  return client;
}

/** The production LLM client, pointed at an LLM test server. */
export function testLlmClient(
  llm: { url: string },
  timeouts: { connectTimeoutMs?: number; idleTimeoutMs?: number } = {},
) {
  return new OpenAiCompatibleClient({
    baseUrl: llm.url,
    apiKey: 'test-key',
    defaultModel: 'test-model',
    connectTimeoutMs: timeouts.connectTimeoutMs ?? 2_000,
    idleTimeoutMs: timeouts.idleTimeoutMs ?? 2_000,
  });
}
