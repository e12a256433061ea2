import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';
import { sizeBudget } from './build/size-budget';

// `pnpm dev:web` proxies the API to a server started beside it, so the page is same-origin as in production.
const api = process.env.HEARTH_API_URL ?? 'http://127.0.0.1:8787';
const apiPaths = ['/trpc', '/api', '/openai', '/healthz', '/readyz', '/docs'];

export default defineConfig({
  plugins: [react(), sizeBudget(150)],
  // Workspace packages are bundled from source, as the tests and typecheck see them.
  resolve: { conditions: ['@hearth/source', ...defaultClientConditions] },
  build: { modulePreload: { polyfill: false }, sourcemap: false },
  server: {
    proxy: Object.fromEntries(apiPaths.map((path) => [path, { target: api, changeOrigin: false, ws: true }])),
  },
});
