import { type ServerProcess, serverDir, startServerProcess, stopServerProcess } from '../../src/server-process';

export { type ServerProcess as Started, serverDir, stopServerProcess as stop };

/**
 * The real server in its own process, its whole output kept for assertions: the sources under tsx,
 * or with `built` the bundle `pnpm start` runs (the test command builds it).
 */
export const startProcess = (env: Record<string, string>, { built = false } = {}): Promise<ServerProcess> =>
  // Every test signs up from 127.0.0.1, and some follow a hundred runs of one user at once.
  startServerProcess(
    {
      REGISTER_MAX_PER_IP: '1000000',
      STREAMS_PER_USER_MAX: '1000',
      SENDS_PER_MINUTE_MAX: '100000',
      RUNS_PER_USER_MAX: '10000',
      // As test-server.ts: titles are extra model calls that suites scripting the model would see.
      CONVERSATION_TITLES: 'off',
      ...env,
    },
    { keepOutput: true, built },
  );
