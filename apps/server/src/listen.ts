import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hearth } from './compose';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves a Hearth over HTTP; port 0 picks a free one. Closing stops the server, then the store. */
export function listen(hearth: Hearth, port: number, hostname?: string): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: hearth.app.fetch, port, ...(hostname ? { hostname } : {}) }, (info: AddressInfo) => {
      const host = hostname && hostname !== '0.0.0.0' && hostname !== '::' ? hostname : 'localhost';
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`,
        port: info.port,
        close: async () => {
          await new Promise<void>((done) => {
            server.close(() => done());
            // Streaming responses (subscriptions) would otherwise hold the close open.
            if ('closeAllConnections' in server) server.closeAllConnections();
          });
          await hearth.close();
        },
      });
    });
    server.once('error', reject);
  });
}
