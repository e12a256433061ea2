import { type ChildProcess, fork } from 'node:child_process';
import { startLlmTestServer } from '@hearth/testkit';
import { processCpuMs } from './proc';

/** How the upstream model answers every request: the text, its time to first token and token pace. */
export interface Pacing {
  text: string;
  ttftMs: number;
  tokenIntervalMs: number;
}

export interface LlmProcess {
  url: string;
  /** Changes how later requests are answered; resolves once the server has taken it. */
  pace(pacing: Pacing): Promise<void>;
  /** CPU time the LLM server's process has used so far, in ms. */
  cpuMs(): number;
  close(): Promise<void>;
}

type Command = { pace: Pacing };
type Reply = { url: string } | { paced: true };

/**
 * The LLM test server in a process of its own, as a real provider is: its token timers are then
 * not held up by the benchmark's clients, and its CPU is not counted as theirs or Hearth's.
 */
export async function startLlmProcess(initial: Pacing): Promise<LlmProcess> {
  const child: ChildProcess = fork(new URL(import.meta.url), ['--serve'], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_LLM_PACING: JSON.stringify(initial) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<Reply>((resolve, reject) => {
      child.once('message', (reply) => resolve(reply as Reply));
      child.once('exit', (code) => reject(new Error(`the LLM test server exited with ${code}`)));
    });
  const ready = await next();
  if (!('url' in ready)) throw new Error('the LLM test server did not say where it listens');
  return {
    url: ready.url,
    pace: async (pacing) => {
      const reply = next();
      child.send({ pace: pacing } satisfies Command);
      await reply;
    },
    cpuMs: () => processCpuMs(child.pid ?? 0),
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function serve(): Promise<void> {
  let pacing = JSON.parse(process.env.BENCH_LLM_PACING ?? '{}') as Pacing;
  const server = await startLlmTestServer({ respond: () => ({ ...pacing }) });
  process.on('message', (command: Command) => {
    pacing = command.pace;
    process.send?.({ paced: true } satisfies Reply);
  });
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  process.send?.({ url: server.url } satisfies Reply);
}

if (process.argv.includes('--serve')) await serve();
