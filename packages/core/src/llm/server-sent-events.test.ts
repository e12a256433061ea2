import { describe, expect, it } from 'vitest';
import { type ServerSentEvent, serverSentEvents } from './server-sent-events';

async function parse(chunks: Array<string | Uint8Array>): Promise<ServerSentEvent[]> {
  async function* source() {
    yield* chunks;
  }
  const events: ServerSentEvent[] = [];
  for await (const event of serverSentEvents(source())) events.push(event);
  return events;
}

describe('serverSentEvents', () => {
  it('reads events split anywhere across chunks, with LF, CRLF and CR line ends', async () => {
    const body = 'data: {"a":1}\n\ndata: {"b":2}\r\n\r\ndata: {"c":3}\r\rdata: [DONE]\n\n';
    const expected = ['{"a":1}', '{"b":2}', '{"c":3}', '[DONE]'].map((data) => ({ event: null, data }));
    expect(await parse([body])).toEqual(expected);
    for (let size = 1; size <= 7; size += 1) {
      const pieces = Array.from({ length: Math.ceil(body.length / size) }, (_, i) =>
        body.slice(i * size, (i + 1) * size),
      );
      expect(await parse(pieces)).toEqual(expected);
    }
  });

  it('keeps a UTF-8 character split between chunks whole', async () => {
    const bytes = new TextEncoder().encode('data: {"t":"héllo 👋"}\n\n');
    const events = await parse(Array.from(bytes, (byte) => new Uint8Array([byte])));
    expect(events).toEqual([{ event: null, data: '{"t":"héllo 👋"}' }]);
  });

  it('skips comments, joins multi-line data, reads the event field and ignores unknown fields', async () => {
    const events = await parse([': keep-alive\n\nevent: error\nid: 7\ndata: {"error":\ndata: "boom"}\n\n']);
    expect(events).toEqual([{ event: 'error', data: '{"error":\n"boom"}' }]);
  });

  it('delivers a last event whose blank line never came, and nothing for an empty body', async () => {
    expect(await parse(['data: {"a":1}\n\ndata: [DONE]'])).toEqual([
      { event: null, data: '{"a":1}' },
      { event: null, data: '[DONE]' },
    ]);
    expect(await parse([])).toEqual([]);
  });
});
