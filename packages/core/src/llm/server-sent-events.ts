/** One event of a `text/event-stream`: its `event:` field (null when absent) and its data lines joined. */
export interface ServerSentEvent {
  event: string | null;
  data: string;
}

/**
 * Parses a `text/event-stream` body as it arrives, per the WHATWG rules OpenAI-compatible servers
 * follow: lines end in LF, CRLF or CR; `:` starts a comment; an empty line ends an event; an event
 * with no data is not dispatched. Chunks may split lines and UTF-8 characters anywhere.
 */
export async function* serverSentEvents(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event: string | null = null;
  let data: string[] = [];
  for await (const chunk of chunks) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      const cr = buffer.indexOf('\r', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk to tell.
      if (end === -1 || (end === cr && end === buffer.length - 1)) break;
      const line = buffer.slice(start, end);
      start = end + (end === cr && buffer[end + 1] === '\n' ? 2 : 1);
      if (line === '') {
        if (data.length > 0) yield { event, data: data.join('\n') };
        event = null;
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
    }
    buffer = buffer.slice(start);
  }
  buffer += decoder.decode();
  // A stream that ends without the blank line still delivers its last event, as browsers do not but
  // OpenAI's own SDK does: a provider that closes right after `data: [DONE]` loses nothing.
  if (buffer && !buffer.startsWith(':')) {
    const colon = buffer.indexOf(':');
    if (colon !== -1 && buffer.slice(0, colon) === 'data') data.push(buffer.slice(colon + 1).replace(/^ /, ''));
  }
  if (data.length > 0) yield { event, data: data.join('\n') };
}
