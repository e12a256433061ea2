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

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`hearth: ${error.message}`);
  } else {
    console.error('hearth: failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
