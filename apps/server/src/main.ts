import { safeError } from '@hearth/core';
import { createHearth } from './compose';
import { ConfigError, loadConfig } from './config';
import { loadEnvFile } from './env-file';
import { listen } from './listen';

// `pnpm start` runs in apps/server; INIT_CWD is where the user typed it, so .env and .hearth/ live there.
const cwd = process.env.INIT_CWD ?? process.cwd();

async function main(): Promise<void> {
  loadEnvFile(cwd);
  const config = loadConfig(process.env, cwd);
  const hearth = await createHearth(config);
  const server = await listen(hearth, config.PORT, config.HOST);
  hearth.logger.info({ url: server.url }, `Hearth is listening on ${server.url} (${hearth.describe()})`);
  if (server.metricsUrl) hearth.logger.info({ url: server.metricsUrl }, `metrics at ${server.metricsUrl}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    hearth.logger.info({ signal }, 'shutting down');
    await server.close();
    hearth.logger.flush(() => process.exit(0));
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * One line for the operator: the reason, never a stack. A failed statement (Drizzle's message is
 * the SQL with its values) is told by its database's own reason.
 */
function startupFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  const safe = safeError(error);
  const reason = safe.statement
    ? `${safe.statement}: ${safe.cause?.message ?? safe.message}`
    : // Whatever wraps a statement we do not know: its text must not reach the terminal either.
      safe.message.replace(/^Failed query:[\s\S]*/, 'a database statement failed');
  return `failed to start: ${reason.split('\n')[0]}`;
}

main().catch((error: unknown) => {
  console.error(`hearth: ${startupFailure(error)}`);
  process.exit(1);
});
