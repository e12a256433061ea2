import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** Where `pnpm start` runs the server from (apps/server). */
export const serverDir = resolve(import.meta.dirname, '..');

/** The Node flags `pnpm start` gives the server (apps/server/package.json says the same). */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=32'];

/** The bundle `pnpm start` runs (`pnpm --filter @hearth/server build` writes it). */
export const BUILT_SERVER = 'dist/main.js';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process printed, when started with `keepOutput` (else up to its start). */
  output(): string;
}

export interface ServerProcessOptions {
  /** Extra Node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Keep collecting output after start-up; off for long runs, whose pipes are then only drained. */
  keepOutput?: boolean;
  /** Run the built bundle, as `pnpm start` does, instead of the sources under tsx (what tests change). */
  built?: boolean;
}

/**
 * Runs the server in a process of its own: the built bundle as `pnpm start` does, or `src/main.ts`
 * with tsx as a loader, not its CLI (which would fork a second process), so the child is the
 * server — killing it kills the server and /proc describes it. Resolves once it listens; rejects,
 * with its output, if it exits first.
 */
export function startServerProcess(
  env: Record<string, string>,
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      ...SERVER_NODE_FLAGS,
      ...(options.nodeArgs ?? []),
      ...(options.built ? [BUILT_SERVER] : ['--import', 'tsx', 'src/main.ts']),
    ],
    { cwd: serverDir, env: { PATH: process.env.PATH ?? '', PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match?.[1]) return;
      if (!options.keepOutput) {
        // A full pipe would stall the server: keep draining it without keeping the text.
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        child.stdout.resume();
        child.stderr.resume();
      }
      resolvePromise({ child, url: match[1], output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(Object.assign(new Error(`exited with ${code}: ${output}`), { code, output })));
  });
}

/** Stops a server process the way an operator does (SIGTERM) and resolves with its exit code. */
export function stopServerProcess(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    child.once('exit', (code) => done(code));
    child.kill('SIGTERM');
  });
}
