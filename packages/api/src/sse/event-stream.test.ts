import { describe, expect, it, vi } from 'vitest';
import { eventStream, frameOnce, SharedPinger, sseFrame } from './event-stream';

const decoder = new TextDecoder();

async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of body) text += decoder.decode(chunk);
  return text;
}

describe('event stream', () => {
  it('writes frames in the SSE line format', async () => {
    const stream = eventStream();
    stream.write(sseFrame({ event: 'connected', data: '{}' }));
    stream.write(sseFrame({ data: '{"a":1}', id: '7' }));
    stream.end();
    expect(await readAll(stream.body)).toBe('event: connected\ndata: {}\n\ndata: {"a":1}\nid: 7\n\n');
  });

  it('drops a subscriber that stops reading once its unsent bytes pass the bound, and says so once', () => {
    const onClose = vi.fn();
    const stream = eventStream({ maxQueuedBytes: 1024, onClose });
    const frame = new Uint8Array(300);
    expect([1, 2, 3].map(() => stream.write(frame))).toEqual([true, true, true]);
    expect(stream.write(frame)).toBe(false);
    expect(stream.open).toBe(false);
    expect(stream.write(frame)).toBe(false);
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('keeps a subscriber that reads, however much passes through', async () => {
    const stream = eventStream({ maxQueuedBytes: 1024 });
    const reader = stream.body.getReader();
    let received = 0;
    for (let i = 0; i < 20; i += 1) {
      expect(stream.write(new Uint8Array(600))).toBe(true);
      received += (await reader.read()).value?.byteLength ?? 0;
    }
    expect(received).toBe(12_000);
  });

  it('ends when the reader cancels, and calls onClose', async () => {
    const onClose = vi.fn();
    const stream = eventStream({ onClose });
    await stream.body.cancel();
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(stream.write(sseFrame({ data: '1' }))).toBe(false);
  });

  it('builds a shared frame once for all its subscribers', () => {
    const event = { type: 'text.delta' };
    const build = vi.fn(() => sseFrame({ data: JSON.stringify(event), id: '1' }));
    const first = frameOnce(event, build);
    expect(frameOnce(event, build)).toBe(first);
    expect(build).toHaveBeenCalledTimes(1);
  });

  it('pings every open stream from one timer, which stops when the last stream leaves', () => {
    vi.useFakeTimers();
    try {
      const pinger = new SharedPinger(1000, sseFrame({ event: 'ping', data: '' }));
      const streams = [eventStream(), eventStream()];
      const writes = streams.map((stream) => vi.spyOn(stream, 'write'));
      const leave = streams.map((stream) => pinger.add(stream));
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(2500);
      expect(writes.map((write) => write.mock.calls.length)).toEqual([2, 2]);
      for (const fn of leave) fn();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
