import { defineProject, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared';

// @hearth/react's hooks, rendered in happy-dom against a real server. The server runs in the
// global setup, outside happy-dom's globals (its URL, fetch and streams are the browser's, not Node's).
export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: 'react-hooks',
      include: ['test/react/**/*.test.ts'],
      environment: 'happy-dom',
      // The page's origin: a dev server's, which CORS allows outside production.
      environmentOptions: { happyDOM: { url: 'http://localhost:5173/' } },
      globalSetup: ['test/react/global-setup.ts'],
    },
  }),
);
