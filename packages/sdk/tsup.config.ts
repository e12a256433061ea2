import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  target: 'es2022',
  platform: 'neutral',
  sourcemap: true,
  clean: true,
  // Inline the contract's types from the workspace's built declarations (not their sources, hence
  // no custom condition) so the published .d.ts needs nothing but the SDK's own dependencies.
  dts: { resolve: [/^@hearth\//, /^\.{1,2}\//], compilerOptions: { customConditions: [] } },
});
