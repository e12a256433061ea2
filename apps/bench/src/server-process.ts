import { readFileSync } from 'node:fs';
import { type ServerProcess, startServerProcess, stopServerProcess } from '@hearth/server';

export interface BenchedServer extends ServerProcess {
  /** Peak resident memory so far, from /proc (VmHWM), in MiB. */
  peakRssMiB(): number;
  /** CPU time (user + system) the server has used so far, from /proc, in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Extra Node flags for the server, e.g. BENCH_SERVER_NODE_ARGS=--cpu-prof to profile it. */
const nodeArgs = () => (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** The real server as `pnpm start` runs it, in its own process, so its event loop and memory are its own. */
export async function startBenchedServer(env: Record<string, string>): Promise<BenchedServer> {
  const server = await startServerProcess({ HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env }, { nodeArgs: nodeArgs() });
  const { pid } = server.child;
  return {
    ...server,
    peakRssMiB: () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
    },
    cpuMs: () => {
      // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name, in clock ticks (100/s).
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) * 10;
    },
    stop: async () => {
      await stopServerProcess(server.child);
    },
  };
}
