import {
  type AgentRuntime,
  type AgentToolbox,
  BuiltinAgentRuntime,
  type Clock,
  createLettaClient,
  type Database,
  DrizzleAgentStore,
  DrizzleMemoryVersions,
  type Ledger,
  LettaAgentIds,
  LettaAgentRuntime,
  LettaMcpTools,
  type LlmClient,
  type ModelCatalog,
} from '@hearth/core';
import type { Config } from './config';
import type { Logger } from './logger';

/** The agent backend AGENT_BACKEND picks, and what the rest of the server needs to know of it. */
export interface AgentBackend {
  runtime: AgentRuntime;
  /** The model runs are recorded and billed under. */
  model: string;
  /** For user.health: the model and whether what answers for it is reachable. */
  modelInfo: Pick<LlmClient, 'defaultModel' | 'isOffline' | 'probe'>;
  /** Readiness checks of the upstreams this backend calls. */
  readiness: Array<{ name: string; check(): Promise<void> }>;
  /** For the start-up line. */
  description: string;
}

export interface BackendDeps {
  config: Config;
  db: Database;
  /** No other process writes the store (see DrizzleAgentStore). */
  soleWriter: boolean;
  clock: Clock;
  ledger: Ledger;
  llm: LlmClient;
  /** The models users may choose, priced; its first is the default. */
  catalog: ModelCatalog;
  /** The key a user's model traffic is sent with (BILLING=litellm). */
  apiKeyFor: ((userId: string) => Promise<string>) | undefined;
  /** The operator's MCP servers' tools, offered beside the memory tools (built-in); null: none configured. */
  tools?: AgentToolbox | null;
  /** For what a backend reports in the background (Letta registering MCP_SERVERS). */
  logger?: Logger;
}

export function agentBackendFor({
  config,
  db,
  soleWriter,
  clock,
  ledger,
  llm,
  catalog,
  apiKeyFor,
  tools,
  logger,
}: BackendDeps): AgentBackend {
  // Each model's window and output cap from its price, under the operator's caps.
  const limitsFor = (model: string) => {
    const price = catalog.price(model);
    return price
      ? {
          contextWindow: config.LLM_CONTEXT_WINDOW ?? price.contextWindow,
          maxOutputTokens: Math.min(config.LLM_MAX_OUTPUT_TOKENS, price.maxOutputTokens),
        }
      : undefined;
  };
  const defaults = limitsFor(catalog.defaultModel) ?? {
    contextWindow: config.LLM_CONTEXT_WINDOW ?? 8_192,
    maxOutputTokens: config.LLM_MAX_OUTPUT_TOKENS,
  };
  const { maxOutputTokens } = defaults;
  if (config.AGENT_BACKEND === 'letta' && config.LETTA_BASE_URL) {
    const client = createLettaClient({
      baseUrl: config.LETTA_BASE_URL,
      apiKey: config.LETTA_API_KEY,
      timeoutMs: config.LETTA_TIMEOUT_MS,
    });
    // Letta calls the MCP servers itself: Hearth registers them and attaches their tools to each agent.
    const mcp =
      config.MCP_SERVERS?.length && logger
        ? new LettaMcpTools({
            client,
            servers: config.MCP_SERVERS,
            // Letta cuts by characters: about four to a token.
            returnCharLimit: Math.min(config.MCP_TOOL_RESULT_MAX_TOKENS * 4, 1_000_000),
            logger,
          })
        : undefined;
    // Registered in the background from start-up on, so a first turn seldom waits for it.
    void mcp?.sync();
    const runtime = new LettaAgentRuntime({
      client,
      agents: new LettaAgentIds(db),
      versions: new DrizzleMemoryVersions(db),
      ledger,
      clock,
      model: catalog.defaultModel,
      embedding: config.LETTA_EMBEDDING,
      maxSteps: config.AGENT_MAX_STEPS,
      maxOutputTokens,
      maxOutputTokensFor: (model) => limitsFor(model)?.maxOutputTokens ?? maxOutputTokens,
      idleTimeoutMs: config.LETTA_TIMEOUT_MS,
      ...(mcp ? { mcp } : {}),
    });
    const ping = () => runtime.ping();
    return {
      runtime,
      model: catalog.defaultModel,
      modelInfo: {
        defaultModel: catalog.defaultModel,
        isOffline: false,
        probe: () =>
          ping().then(
            () => true,
            () => false,
          ),
      },
      readiness: [{ name: 'letta', check: ping }],
      description: `agents on Letta at ${config.LETTA_BASE_URL} (${catalog.ids.join(', ')})`,
    };
  }
  const runtime = new BuiltinAgentRuntime({
    store: new DrizzleAgentStore(db, clock, soleWriter),
    llm,
    ledger,
    maxSteps: config.AGENT_MAX_STEPS,
    contextWindow: defaults.contextWindow,
    maxOutputTokens,
    limitsFor,
    outputSliceTokens: config.BUDGET_OUTPUT_SLICE_TOKENS,
    ...(apiKeyFor ? { apiKeyFor } : {}),
    ...(tools ? { tools } : {}),
  });
  return {
    runtime,
    model: llm.defaultModel,
    modelInfo: llm,
    readiness: llm.isOffline
      ? []
      : [
          {
            name: 'llm',
            check: async () => {
              if (!(await llm.probe())) throw new Error('the LLM provider did not answer');
            },
          },
        ],
    description: llm.isOffline
      ? 'model: the offline demo model'
      : `models: ${catalog.ids.join(', ')} at ${config.LLM_BASE_URL}`,
  };
}
