import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incomingMessageOf, nodeHttpFetch } from './node-http-fetch';

describe('nodeHttpFetch', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        if (req.url === '/echo') {
          res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req_1' });
          res.end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization }));
        } else if (req.url === '/slow') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: 1\n\n');
        } else {
          res.writeHead(404).end('no such thing');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('sends method, headers and a string body, and answers with status, headers and JSON', async () => {
    const response = await nodeHttpFetch(`${url}/echo`, {
      method: 'POST',
      headers: new Headers({ authorization: 'Bearer k' }),
      body: 'héllo',
    });
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.url).toBe(`${url}/echo`);
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(await response.json()).toEqual({ method: 'POST', body: 'héllo', auth: 'Bearer k' });
  });

  it('reads an error body as text through the web body', async () => {
    const response = await nodeHttpFetch(`${url}/missing`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('no such thing');
  });

  it('leaves a stream to be read as Node chunks, and an abort ends that read', async () => {
    const controller = new AbortController();
    const response = await nodeHttpFetch(`${url}/slow`, { signal: controller.signal });
    const incoming = incomingMessageOf(response);
    if (!incoming) throw new Error('no IncomingMessage behind the response');
    const chunks = incoming[Symbol.asyncIterator]();
    expect(String((await chunks.next()).value)).toBe('data: 1\n\n');
    controller.abort();
    await expect(chunks.next()).rejects.toThrow(/abort/i);
  });

  it('rejects when the connection is refused, and at once when already aborted', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    await expect(nodeHttpFetch(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(nodeHttpFetch(`${url}/echo`, { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });

  it('sends a request again on a new connection when the kept-alive one it went out on was closed', async () => {
    // Each connection answers once, then closes when the next request arrives on it, as a server
    // whose keep-alive timeout fires just as a request is sent.
    const requestsOn = new WeakMap<object, number>();
    let connections = 0;
    const closing = createServer((req, res) => {
      const count = (requestsOn.get(req.socket) ?? 0) + 1;
      requestsOn.set(req.socket, count);
      if (count > 1) req.socket.destroy();
      else res.end('ok');
    });
    closing.on('connection', () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
    const closingUrl = `http://127.0.0.1:${(closing.address() as AddressInfo).port}/`;
    try {
      expect(await (await nodeHttpFetch(closingUrl)).text()).toBe('ok');
      expect(await (await nodeHttpFetch(closingUrl, { method: 'POST', body: '{}' })).text()).toBe('ok');
      expect(connections).toBe(2);
    } finally {
      closing.closeAllConnections();
      closing.close();
    }
  });
});
