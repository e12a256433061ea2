import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Hearth } from './compose';

export interface RunningServer {
  url: string;
  port: number;
  /** Where `/metrics` is served when METRICS_PORT is set; null otherwise. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

interface Served {
  url: string;
  port: number;
  close(): Promise<void>;
}

function serveApp(app: Hono, port: number, hostname: string | undefined): Promise<Served> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, ...(hostname ? { hostname } : {}) }, (info: AddressInfo) => {
      const host = hostname && hostname !== '0.0.0.0' && hostname !== '::' ? hostname : 'localhost';
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Streaming responses (subscriptions) would otherwise hold the close open.
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}

/**
 * Serves a Hearth over HTTP, and its metrics on a port of their own when configured; port 0 picks
 * a free one. Closing stops the servers, then the store.
 */
export async function listen(hearth: Hearth, port: number, hostname?: string): Promise<RunningServer> {
  const main = await serveApp(hearth.app, port, hostname);
  const metricsPort = hearth.config.METRICS_PORT;
  const metrics =
    hearth.metricsApp && metricsPort !== undefined
      ? await serveApp(hearth.metricsApp, metricsPort, hostname).catch(async (error: unknown) => {
          await main.close();
          throw error;
        })
      : null;
  return {
    url: main.url,
    port: main.port,
    metricsUrl: metrics ? `${metrics.url}/metrics` : null,
    close: async () => {
      await Promise.all([main.close(), metrics?.close()]);
      await hearth.close();
    },
  };
}
