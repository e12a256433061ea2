import { type ServerProcess, serverDir, startServerProcess, stopServerProcess } from '../../src/server-process';

export { type ServerProcess as Started, serverDir, stopServerProcess as stop };

/** The real server in its own process, its whole output kept for assertions. */
export const startProcess = (env: Record<string, string>): Promise<ServerProcess> =>
  startServerProcess(env, { keepOutput: true });
