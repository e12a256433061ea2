import { McpToolbox } from '@hearth/core';
import type { CleanupStack } from './cleanup-stack';
import type { Config } from './config';
import type { Logger } from './logger';

/**
 * The operator's MCP servers (MCP_SERVERS), connected before the server listens so a first turn
 * already has their tools; null when none is configured. Closed at shutdown, which ends stdio
 * servers' processes.
 */
export async function mcpToolboxFor(config: Config, logger: Logger, cleanup: CleanupStack): Promise<McpToolbox | null> {
  if (!config.MCP_SERVERS?.length) return null;
  const toolbox = await McpToolbox.start({
    servers: config.MCP_SERVERS,
    toolTimeoutMs: config.MCP_TOOL_TIMEOUT_MS,
    resultMaxTokens: config.MCP_TOOL_RESULT_MAX_TOKENS,
    logger,
  });
  cleanup.defer(() => toolbox.close());
  return toolbox;
}
