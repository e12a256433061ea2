import type { TestProject } from 'vitest/node';
import { startTestServer } from '../support/test-server';

declare module 'vitest' {
  export interface ProvidedContext {
    hearthUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startTestServer({
    store: { kind: 'pglite-memory' },
    env: {
      // Outside production with CORS_ORIGINS unset: the page's loopback origin is allowed.
      NODE_ENV: 'test',
      // Slow enough that an answer takes several renders and can be interrupted mid-way.
      OFFLINE_WORD_DELAY_MS: '25',
    },
  });
  project.provide('hearthUrl', server.url);
  return () => server.close();
}
