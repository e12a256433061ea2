import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';

/**
 * `pnpm start` runs this build, not the TypeScript sources: compiling them with tsx at every start
 * cost ~2.5 s of CPU and ~100 MB of RSS (issue 20; `pnpm bench:chat` measures the start).
 *
 * Everything is bundled — the workspace packages from their sources — but what finds files of its
 * own at run time, which stays a dependency of this package: PGlite (its WebAssembly beside its
 * code), argon2 (a native addon), pino (its transports are worker threads loaded by name) and the
 * API reference's browser script (served from its package).
 */
const resolvedAtRunTime = ['@electric-sql/pglite', '@node-rs/argon2', 'pino', 'pino-pretty', '@scalar/api-reference'];
const notBundled = new RegExp(`^(?!(${resolvedAtRunTime.map((name) => name.replace('/', '\\/')).join('|')})(\\/|$))`);

export default defineConfig({
  entry: { main: 'src/main.ts', migrate: 'src/migrate.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  splitting: true,
  sourcemap: true,
  clean: true,
  noExternal: [notBundled],
  esbuildOptions(options) {
    options.conditions = ['@hearth/source'];
  },
  // Bundled CommonJS dependencies call require(); in an ES module it has to be made.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  onSuccess: async () => {
    // Found beside the bundle at run time (new URL(…, import.meta.url)): the PGlite worker and the migrations.
    for (const file of ['pglite-worker.mjs', 'pglite-prepared.mjs']) {
      cpSync(`../../packages/core/src/store/${file}`, `dist/${file}`);
    }
    cpSync('../../packages/core/src/store/migrations', 'dist/migrations', { recursive: true });
  },
});
