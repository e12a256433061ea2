import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema } from './config';
import { CONFIGURATION_DOC, configurationDoc } from './config-docs';

describe('docs/configuration.md', () => {
  it('is what the config schema generates (run `pnpm docs:config` after changing a setting)', () => {
    const onDisk = readFileSync(fileURLToPath(new URL(`../../../${CONFIGURATION_DOC}`, import.meta.url)), 'utf8');
    expect(onDisk).toBe(configurationDoc());
  });

  it('describes every setting', () => {
    const undescribed = Object.entries(configSchema.shape)
      .filter(([, schema]) => !schema.description)
      .map(([name]) => name);
    expect(undescribed).toEqual([]);
  });
});
