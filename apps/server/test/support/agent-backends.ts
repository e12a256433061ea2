import { type FakeLetta, type LlmTestServer, startFakeLetta, startLlmTestServer } from '@hearth/testkit';
import { offlineResponder } from './offline-responder';
import { type TestServerOptions, testLlmClient } from './test-server';

/** The model handle Letta agents are created with in tests: `test-model` of the test price table. */
export const TEST_LETTA_MODEL = 'openai/test-model';

export type BackendName = 'builtin' | 'letta';

/** Every backend the contract-level suites run against. */
export const BACKENDS: ReadonlyArray<{ name: BackendName }> = [{ name: 'builtin' }, { name: 'letta' }];

/** One agent backend, started for a suite: what to start the server with, and the fake behind it. */
export interface Backend {
  name: BackendName;
  server: Pick<TestServerOptions, 'env' | 'llm'>;
  /** The fake Letta server (letta only). */
  letta: FakeLetta | null;
  /** The model runs report. */
  model: string;
  /** Fails the test if the fake saw anything Letta's spec does not allow. */
  assertClean(): void;
  close(): Promise<void>;
}

/**
 * Starts a backend whose agents answer with `llm`, the scripted LLM test server, or, with
 * `offline`, as the built-in offline demo model does (the fake Letta's model calls answered by it).
 */
export async function startBackend(
  name: BackendName,
  model: LlmTestServer | 'offline',
  lettaOptions: { timeoutMs?: number; pingIntervalMs?: number } = {},
): Promise<Backend> {
  if (name === 'builtin') {
    return {
      name,
      server:
        model === 'offline' ? {} : { llm: testLlmClient(model, { connectTimeoutMs: 2_000, idleTimeoutMs: 1_000 }) },
      letta: null,
      model: model === 'offline' ? 'hearth/offline' : 'test-model',
      assertClean: () => {},
      close: async () => {},
    };
  }
  // Paced like the offline model (OFFLINE_WORD_DELAY_MS in tests), so answers stream in several deltas.
  const own = model === 'offline' ? await startLlmTestServer({ respond: offlineResponder, tokenIntervalMs: 1 }) : null;
  const letta = await startFakeLetta({
    llmUrl: (own ?? (model as LlmTestServer)).url,
    ...(lettaOptions.pingIntervalMs ? { pingIntervalMs: lettaOptions.pingIntervalMs } : {}),
  });
  return {
    name,
    server: {
      env: {
        AGENT_BACKEND: 'letta',
        LETTA_BASE_URL: letta.url,
        LETTA_MODEL: TEST_LETTA_MODEL,
        LETTA_TIMEOUT_MS: String(lettaOptions.timeoutMs ?? 1_000),
      },
    },
    letta,
    model: TEST_LETTA_MODEL,
    assertClean: () => letta.contract.assertClean(),
    close: async () => {
      await letta.close();
      await own?.close();
    },
  };
}
