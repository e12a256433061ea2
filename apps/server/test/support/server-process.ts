import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const serverDir = resolve(import.meta.dirname, '../..');

export interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/**
 * Runs `src/main.ts` as `pnpm start` does, in its own process: one process (tsx as a loader, not
 * its CLI, which would fork a second), so killing it kills the server.
 */
export function startProcess(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--max-semi-space-size=32', '--import', 'tsx', 'src/main.ts'], {
    cwd: serverDir,
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolvePromise({ child, url: match[1], output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(Object.assign(new Error(`exited with ${code}: ${output}`), { code, output })));
  });
}

export function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    child.once('exit', (code) => done(code));
    child.kill('SIGTERM');
  });
}
