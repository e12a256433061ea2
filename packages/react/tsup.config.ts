import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'es2022',
  platform: 'browser',
  sourcemap: true,
  clean: true,
  // @hearth/sdk, tRPC and React stay imports: dependencies and peers, never bundled.
  dts: { compilerOptions: { customConditions: [] } },
});
