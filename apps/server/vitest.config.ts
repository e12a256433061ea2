import { configDefaults, defineProject, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared';

export default mergeConfig(
  shared,
  defineProject({
    // test/react runs in its own project (vitest.react.config.ts), in happy-dom.
    test: { name: '@hearth/server', exclude: [...configDefaults.exclude, 'test/react/**'] },
  }),
);
