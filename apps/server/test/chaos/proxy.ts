import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyCounts {
  /** Requests answered by an instance, by its name. */
  byInstance: Record<string, number>;
  /** Requests sent on to the next instance because one refused the connection. */
  failovers: number;
  /** Requests answered 502: no live instance took them, or the instance died before answering. */
  badGateway: number;
  /** Streams (answers already under way) cut because their instance died. */
  cutStreams: number;
}

export interface RoundRobinProxy {
  url: string;
  /** Puts an instance into the rotation (again, at a new address after a restart). */
  add(name: string, url: string): void;
  /** Takes an instance out of the rotation, as a load balancer's health check does after a kill. */
  remove(name: string): void;
  counts: ProxyCounts;
  close(): Promise<void>;
}

interface Target {
  name: string;
  host: string;
  port: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

function forwardedHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  return headers;
}

/**
 * A load balancer that is not sticky: every request, each SSE reconnect included, goes to the next
 * live instance. Bodies are read first (they are small JSON), so a request an instance refused to
 * connect for can go to the next one; answers are piped through as they come, so SSE is not held.
 */
export async function startRoundRobinProxy(): Promise<RoundRobinProxy> {
  const targets: Target[] = [];
  const counts: ProxyCounts = { byInstance: {}, failovers: 0, badGateway: 0, cutStreams: 0 };
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  let next = 0;

  const pick = (): Target | undefined => {
    if (targets.length === 0) return undefined;
    next = (next + 1) % targets.length;
    return targets[next];
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, attemptsLeft: number) => {
    const target = pick();
    if (!target) {
      counts.badGateway += 1;
      res.writeHead(502).end();
      return;
    }
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: forwardedHeaders(req),
      agent,
    });
    upstream.on('response', (answer) => {
      counts.byInstance[target.name] = (counts.byInstance[target.name] ?? 0) + 1;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // An SSE answer's first bytes must reach the client now, not when a buffer fills.
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => {});
      answer.on('close', () => {
        // The instance died mid-answer: the client must see a dropped connection, not a clean end.
        if (answer.complete || res.destroyed) return;
        counts.cutStreams += 1;
        res.destroy();
      });
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      // Refused: the request never reached that instance, so it is safe to send it to another one.
      if (error.code === 'ECONNREFUSED' && attemptsLeft > 1 && !res.headersSent) {
        counts.failovers += 1;
        forward(req, res, body, attemptsLeft - 1);
        return;
      }
      if (res.headersSent) {
        counts.cutStreams += 1;
        res.destroy();
      } else {
        counts.badGateway += 1;
        res.writeHead(502).end();
      }
    });
    // The client left (an SSE subscriber closing): stop the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), Math.max(1, targets.length)));
    req.on('error', () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    add(name, url) {
      const { hostname, port: targetPort } = new URL(url);
      const entry = { name, host: hostname, port: Number(targetPort) };
      const at = targets.findIndex((target) => target.name === name);
      if (at >= 0) targets[at] = entry;
      else targets.push(entry);
    },
    remove(name) {
      const at = targets.findIndex((target) => target.name === name);
      if (at >= 0) targets.splice(at, 1);
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
