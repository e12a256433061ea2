import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

const agents = {
  'http:': new HttpAgent({ keepAlive: true, scheduling: 'lifo' }),
  'https:': new HttpsAgent({ keepAlive: true, scheduling: 'lifo' }),
};

const incomingMessages = new WeakMap<Response, IncomingMessage>();

/**
 * The socket's IncomingMessage behind a response from nodeHttpFetch, to read a stream as Node
 * chunks instead of through the response's web ReadableStream (which then is never started).
 */
export function incomingMessageOf(response: Response): IncomingMessage | undefined {
  return incomingMessages.get(response);
}

/** A web stream over the message that reads nothing until someone reads it (high-water mark 0). */
function lazyBody(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  let chunks: AsyncIterator<Buffer> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        chunks ??= incoming[Symbol.asyncIterator]();
        const { value, done } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      },
      cancel() {
        incoming.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}

function toResponse(incoming: IncomingMessage, url: URL): Response {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] ?? '', raw[i + 1] ?? '');
  const status = incoming.statusCode ?? 500;
  const body = status === 204 || status === 205 || status === 304 ? null : lazyBody(incoming);
  const response = new Response(body, { status, statusText: incoming.statusMessage ?? '', headers });
  // A constructed Response has an empty `url`; fetch's carries the URL it was fetched from. Set as
  // an own value it is also cheap to read: the OpenAI SDK reads it on every request for a debug
  // line (even with logging off), and in the server Hono's lighter Response would build a whole
  // undici Response, body stream and all, to answer it.
  Object.defineProperty(response, 'url', { value: url.href, enumerable: true });
  incomingMessages.set(response, incoming);
  return response;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A request that failed on a kept-alive socket before any answer: the server closed that socket
 * (its keep-alive timeout) as the request went out, so it never read the request and sending it
 * again on another socket is safe. Node documents this retry (`request.reusedSocket`); undici does
 * the same. Each such failure destroys one stale socket, so the retries end once the pool is spent.
 */
function failedOnStaleSocket(req: ClientRequest, error: NodeJS.ErrnoException): boolean {
  return req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
}

/**
 * `fetch` for the OpenAI client over node:http, with keep-alive agents. Node's own fetch (undici)
 * hands every chunk of a stream through web streams: on this path, each streamed token cost about
 * twice the CPU. Only what an OpenAI-compatible API needs: a request with a string body, a response
 * read as text, JSON or a stream; no redirects, no compression asked for.
 */
export const nodeHttpFetch: typeof globalThis.fetch = (input, init) =>
  new Promise<Response>((resolve, reject) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const signal = init?.signal ?? null;
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const body = init?.body;
    if (body !== undefined && body !== null && typeof body !== 'string') {
      reject(new TypeError('nodeHttpFetch sends string bodies only'));
      return;
    }
    if (body) headers['content-length'] = String(Buffer.byteLength(body));
    const agent = url.protocol === 'https:' ? agents['https:'] : agents['http:'];
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let req: ClientRequest;
    const onAbort = () => {
      // Destroyed without the error: destroy(error) hands it to the socket too, and a socket that
      // has just lost its request's listener throws it as an unhandled 'error', ending the process
      // (seen under the chaos suite). The reader of the body still fails, with a premature close.
      req.destroy();
      reject(abortError(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const attempt = () => {
      req = send(url, { method: init?.method ?? 'GET', headers, agent });
      const sent = req;
      let answered = false;
      // `on`, not `once`: a request can emit a second error (an abort destroying it after a reset),
      // and an 'error' with no listener is thrown, taking the whole process down.
      sent.on('error', (error: NodeJS.ErrnoException) => {
        if (!answered && !signal?.aborted && failedOnStaleSocket(sent, error)) {
          attempt();
          return;
        }
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      });
      sent.once('response', (incoming) => {
        answered = true;
        // The body's reader gets the error through its iterator; a body nobody reads (yet) must
        // not turn an abort or a reset into an unhandled 'error' that ends the process.
        incoming.on('error', () => {});
        // Kept until the body is read: an abort then ends the stream being read with the abort's error.
        incoming.once('close', () => signal?.removeEventListener('abort', onAbort));
        resolve(toResponse(incoming, url));
      });
      sent.end(body ?? undefined);
    };
    attempt();
  });
