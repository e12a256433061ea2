import { type ChildProcess, fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { processCpuMs } from './proc';

/** Where to open the streams: one `chat.events` subscription of `runId` per stream, all as one user. */
export interface StreamTarget {
  url: string;
  accessToken: string;
  runId: string;
  streams: number;
}

export interface ReaderCounts {
  /** Streams whose response has started (tRPC's `connected` event arrived). */
  established: number;
  /** Run events received, summed over every stream. */
  delivered: number;
  /** Run events the first stream received: the events the run published so far. */
  published: number;
  /** Streams that ended with the run's end (tRPC's `return` event) or were refused. */
  ended: number;
  refused: number;
}

export interface StreamReaders {
  /** Opens every stream at once; resolves when the child has sent the requests. */
  open(target: StreamTarget): Promise<void>;
  counts(): Promise<ReaderCounts>;
  cpuMs(): number;
  close(): Promise<void>;
}

type Command = { open: StreamTarget } | { counts: true };
type Reply = { ready: true } | { opened: true } | { counts: ReaderCounts };

/**
 * Many SSE readers in a process of their own: their parsing is not counted as the server's CPU and
 * does not hold up the bench's /healthz probe. They read tRPC's SSE lines without decoding the
 * events (a browser tab would, but that is the client's cost, not the server's).
 */
export async function startStreamReaders(): Promise<StreamReaders> {
  const child: ChildProcess = fork(new URL(import.meta.url), ['--read'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<Reply>((resolve, reject) => {
      child.once('message', (reply) => resolve(reply as Reply));
      child.once('exit', (code) => reject(new Error(`the stream readers exited with ${code}`)));
    });
  await next();
  const ask = async (command: Command) => {
    const reply = next();
    child.send(command);
    return reply;
  };
  return {
    open: async (target) => {
      await ask({ open: target });
    },
    counts: async () => {
      const reply = await ask({ counts: true });
      if (!('counts' in reply)) throw new Error('the stream readers did not answer with counts');
      return reply.counts;
    },
    cpuMs: () => processCpuMs(child.pid ?? 0),
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function read(): void {
  const counts: ReaderCounts = { established: 0, delivered: 0, published: 0, ended: 0, refused: 0 };
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const openOne = (target: StreamTarget, first: boolean) => {
    const input = encodeURIComponent(JSON.stringify({ json: { runId: target.runId } }));
    const req = request(`${target.url}/trpc/chat.events?input=${input}`, {
      agent,
      headers: { authorization: `Bearer ${target.accessToken}`, accept: 'text/event-stream' },
    });
    req.on('response', (res) => {
      res.setEncoding('utf8');
      let rest = '';
      let connected = false;
      res.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          if (line === 'event: connected' && !connected) {
            connected = true;
            counts.established += 1;
          } else if (line.startsWith('id: ')) {
            counts.delivered += 1;
            if (first) counts.published += 1;
          } else if (line === 'event: serialized-error') {
            counts.refused += 1;
          } else if (line === 'event: return') {
            counts.ended += 1;
          }
        }
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end();
  };
  process.on('message', (command: Command) => {
    if ('open' in command) {
      for (let i = 0; i < command.open.streams; i += 1) openOne(command.open, i === 0);
      process.send?.({ opened: true } satisfies Reply);
    } else {
      process.send?.({ counts: { ...counts } } satisfies Reply);
    }
  });
  process.on('SIGTERM', () => process.exit(0));
  process.send?.({ ready: true } satisfies Reply);
}

if (process.argv.includes('--read')) read();
