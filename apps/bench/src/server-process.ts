import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Peak resident memory so far, from /proc (VmHWM), in MiB. */
  peakRssMiB(): number;
  /** CPU time (user + system) the server has used so far, from /proc, in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

const serverDir = resolve(import.meta.dirname, '../../server');

/** Extra Node flags for the server, e.g. BENCH_SERVER_NODE_ARGS=--cpu-prof to profile it. */
const nodeArgs = () => (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Starts the real server (`src/main.ts`) in its own process, so its event loop and memory are its own. */
export function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  // tsx as a loader in this one process (its CLI would fork a second one), so /proc shows the server.
  // With the flags `pnpm start` gives the server (apps/server/package.json).
  const child = spawn(process.execPath, ['--max-semi-space-size=32', ...nodeArgs(), '--import', 'tsx', 'src/main.ts'], {
    cwd: serverDir,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match?.[1]) return;
      // Keep draining the pipes (a full pipe would stall the server) without keeping the text.
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.stdout.resume();
      child.stderr.resume();
      resolvePromise({
        url: match[1],
        child,
        peakRssMiB: () => {
          const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
          return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
        },
        cpuMs: () => {
          // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised command name, in clock ticks (100/s).
          const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
          return (Number(fields[11]) + Number(fields[12])) * 10;
        },
        stop: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
}
