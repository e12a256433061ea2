import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../domain/chat';
import type { StreamedEvent } from '../ports/chat';
import { connectRedis, type RedisConnections } from './redis-connections';
import { RedisRunEvents } from './redis-run-events';

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

/** A Redis of the test's own, keeping nothing on disk, so that restarting it loses every stream. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const probe = spawnSync('redis-cli', ['-p', String(port), 'ping']);
    if (String(probe.stdout).includes('PONG')) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('redis-server did not start');
}

function stopRedis(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const delta = (text: string): RunEvent => ({ type: 'text.delta', text });
const done: RunEvent = { type: 'run.cancelled', partial: null };

async function collect(events: AsyncIterable<StreamedEvent>): Promise<StreamedEvent[]> {
  const seen: StreamedEvent[] = [];
  for await (const item of events) seen.push(item);
  return seen;
}

describe.runIf(hasRedisServer)('RedisRunEvents', () => {
  let port: number;
  let redis: ChildProcess;
  let owner: RedisConnections;
  let follower: RedisConnections;
  const opened: RedisRunEvents[] = [];

  const runEvents = (connections: RedisConnections) => {
    const events = new RedisRunEvents({
      commands: connections.commands,
      subscriber: connections.subscriber,
      retentionMs: 60_000,
      idleCheckMs: 100,
    });
    opened.push(events);
    return events;
  };

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    owner = await connectRedis(`redis://127.0.0.1:${port}`);
    follower = await connectRedis(`redis://127.0.0.1:${port}`);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((events) => events.close()));
  });
  afterAll(async () => {
    await owner?.close();
    await follower?.close();
    if (redis) await stopRedis(redis);
  });

  it('hands another process every event after the one it asks for, live, until the terminal one', async () => {
    const writer = runEvents(owner);
    const reader = runEvents(follower);
    writer.append('run-1', 1, delta('a'));
    writer.append('run-1', 2, delta('b'));
    const following = collect(reader.follow('run-1', 1, new AbortController().signal, async () => false));
    await new Promise((resolve) => setTimeout(resolve, 50));
    writer.append('run-1', 3, delta('c'));
    writer.append('run-1', 4, done);

    const seen = await following;
    expect(seen.map((item) => item.id)).toEqual(['2', '3', '4']);
    expect(seen[0]?.event).toEqual(delta('b'));
  });

  it('stops without a terminal event once the store says the run is over and nothing comes', async () => {
    const reader = runEvents(follower);
    let asked = 0;
    const seen = await collect(
      reader.follow('run-gone', 0, new AbortController().signal, async () => {
        asked += 1;
        return true;
      }),
    );
    expect(seen).toEqual([]);
    expect(asked).toBeGreaterThan(0);
  });

  it('loses nothing when Redis restarts empty mid-run: the running process writes its log again', async () => {
    const log: StreamedEvent[] = [];
    const writer = runEvents(owner);
    writer.republish(() => [{ runId: 'run-2', events: log }]);
    const append = (event: RunEvent) => {
      log.push({ id: String(log.length + 1), event });
      writer.append('run-2', log.length, event);
    };
    const reader = runEvents(follower);
    const following = collect(reader.follow('run-2', 0, new AbortController().signal, async () => false));
    append(delta('one '));
    append(delta('two '));
    await new Promise((resolve) => setTimeout(resolve, 100));

    await stopRedis(redis);
    append(delta('three '));
    redis = await startRedis(port);
    append(delta('four'));
    append(done);

    // One that followed throughout, and one that starts after the restart and needs the events Redis lost.
    const late = collect(runEvents(owner).follow('run-2', 0, new AbortController().signal, async () => false));
    for (const seen of await Promise.all([following, late])) {
      expect(seen.map((item) => item.id)).toEqual(['1', '2', '3', '4', '5']);
      expect(seen.map((item) => (item.event.type === 'text.delta' ? item.event.text : '')).join('')).toBe(
        'one two three four',
      );
    }
  }, 20_000);
});
