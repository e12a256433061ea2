import { defineProject, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared';

// The browser tests: the real server serving the built app (dist/), driven through Chromium.
export default mergeConfig(
  shared,
  defineProject({ test: { name: '@hearth/web', include: ['test/**/*.test.ts'], testTimeout: 60_000 } }),
);
