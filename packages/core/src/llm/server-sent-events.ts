/** One event of a `text/event-stream`: its `event:` field (null when absent) and its data lines joined. */
export interface ServerSentEvent {
  event: string | null;
  data: string;
}

/**
 * Parses a `text/event-stream` body as it arrives, per the WHATWG rules OpenAI-compatible servers
 * follow: lines end in LF, CRLF or CR; `:` starts a comment; an empty line ends an event; an event
 * with no data is not dispatched. Chunks may split lines and UTF-8 characters anywhere.
 *
 * Synchronous on purpose: a streamed answer is hundreds of chunks, and a reader then awaits once
 * per network chunk instead of once per event in every layer between the socket and the model step.
 */
export class ServerSentEventParser {
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private event: string | null = null;
  private data: string[] = [];

  /** The events this chunk completes, in order. */
  feed(chunk: Uint8Array | string): ServerSentEvent[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const events: ServerSentEvent[] = [];
    const buffer = this.buffer;
    let start = 0;
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      const cr = buffer.indexOf('\r', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk to tell.
      if (end === -1 || (end === cr && end === buffer.length - 1)) break;
      const line = buffer.slice(start, end);
      start = end + (end === cr && buffer[end + 1] === '\n' ? 2 : 1);
      this.readLine(line, events);
    }
    this.buffer = buffer.slice(start);
    return events;
  }

  /**
   * The body has ended. A last event whose blank line never came is still delivered, as OpenAI's
   * own SDK does (browsers do not): a provider that closes right after `data: [DONE]` loses nothing.
   */
  end(): ServerSentEvent[] {
    const rest = this.buffer + this.decoder.decode();
    this.buffer = '';
    const events: ServerSentEvent[] = [];
    // What is left is one unfinished line, or one held back for ending in a CR.
    for (const line of rest ? rest.split(/\r\n|\r|\n/) : []) this.readLine(line, events);
    this.readLine('', events);
    return events;
  }

  private readLine(line: string, events: ServerSentEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) events.push({ event: this.event, data: this.data.join('\n') });
      this.event = null;
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}
