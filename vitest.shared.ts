import { defineConfig } from 'vitest/config';

/** Each package's vitest.config.ts extends this: workspace packages are tested from source. */
export default defineConfig({
  resolve: { conditions: ['@hearth/source', 'module'] },
  ssr: { resolve: { conditions: ['@hearth/source', 'node'] } },
  test: {
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
