import { type ServerProcess, startServerProcess, stopServerProcess } from '@hearth/server';
import { mainThreadCpuMs, peakRssMiB, processCpuMs, rssMiB } from './proc';

export interface BenchedServer extends ServerProcess {
  /** Peak resident memory so far, in MiB. */
  peakRssMiB(): number;
  /** Resident memory now, in MiB. */
  rssMiB(): number;
  /** CPU time (user + system, all threads) the server has used so far, in ms. */
  cpuMs(): number;
  /** CPU time of its main thread (the event loop), in ms. */
  mainThreadCpuMs(): number;
  stop(): Promise<void>;
}

/** Extra Node flags for the server, e.g. BENCH_SERVER_NODE_ARGS=--cpu-prof to profile it. */
const nodeArgs = () => (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/**
 * The real server as `pnpm start` runs it (the built bundle; `pnpm bench:chat` builds it first), in
 * its own process, so its event loop and memory are its own.
 */
export async function startBenchedServer(env: Record<string, string>): Promise<BenchedServer> {
  const server = await startServerProcess(
    { HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    { nodeArgs: nodeArgs(), built: true },
  );
  const pid = server.child.pid ?? 0;
  return {
    ...server,
    peakRssMiB: () => peakRssMiB(pid),
    rssMiB: () => rssMiB(pid),
    cpuMs: () => processCpuMs(pid),
    mainThreadCpuMs: () => mainThreadCpuMs(pid),
    stop: async () => {
      await stopServerProcess(server.child);
    },
  };
}
