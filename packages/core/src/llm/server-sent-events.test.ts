import { describe, expect, it } from 'vitest';
import { type ServerSentEvent, ServerSentEventParser } from './server-sent-events';

function parse(chunks: Array<string | Uint8Array>): ServerSentEvent[] {
  const parser = new ServerSentEventParser();
  return [...chunks.flatMap((chunk) => parser.feed(chunk)), ...parser.end()];
}

describe('ServerSentEventParser', () => {
  it('reads events split anywhere across chunks, with LF, CRLF and CR line ends', () => {
    const body = 'data: {"a":1}\n\ndata: {"b":2}\r\n\r\ndata: {"c":3}\r\rdata: [DONE]\n\n';
    const expected = ['{"a":1}', '{"b":2}', '{"c":3}', '[DONE]'].map((data) => ({ event: null, data }));
    expect(parse([body])).toEqual(expected);
    for (let size = 1; size <= 7; size += 1) {
      const pieces = Array.from({ length: Math.ceil(body.length / size) }, (_, i) =>
        body.slice(i * size, (i + 1) * size),
      );
      expect(parse(pieces)).toEqual(expected);
    }
  });

  it('hands each event over as soon as its blank line arrives', () => {
    const parser = new ServerSentEventParser();
    expect(parser.feed('data: {"a":1}\n')).toEqual([]);
    expect(parser.feed('\ndata: {"b"')).toEqual([{ event: null, data: '{"a":1}' }]);
    expect(parser.feed(':2}\n\n')).toEqual([{ event: null, data: '{"b":2}' }]);
    expect(parser.end()).toEqual([]);
  });

  it('keeps a UTF-8 character split between chunks whole', () => {
    const bytes = new TextEncoder().encode('data: {"t":"héllo 👋"}\n\n');
    const events = parse(Array.from(bytes, (byte) => new Uint8Array([byte])));
    expect(events).toEqual([{ event: null, data: '{"t":"héllo 👋"}' }]);
  });

  it('skips comments, joins multi-line data, reads the event field and ignores unknown fields', () => {
    const events = parse([': keep-alive\n\nevent: error\nid: 7\ndata: {"error":\ndata: "boom"}\n\n']);
    expect(events).toEqual([{ event: 'error', data: '{"error":\n"boom"}' }]);
  });

  it('delivers a last event whose blank line never came, and nothing for an empty body', () => {
    expect(parse(['data: {"a":1}\n\ndata: [DONE]'])).toEqual([
      { event: null, data: '{"a":1}' },
      { event: null, data: '[DONE]' },
    ]);
    expect(parse(['data: {"a":1}\r'])).toEqual([{ event: null, data: '{"a":1}' }]);
    expect(parse([])).toEqual([]);
  });
});
