import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PRICES } from './builtin-prices';
import { costMicros, PriceTable } from './prices';

const contract = new URL('../../../../../shared/contracts/model-prices.json', import.meta.url);

describe('the built-in price table', () => {
  // The contract file sits beside the repository (../shared); a checkout without it skips this.
  it.runIf(existsSync(contract))("matches LiteLLM's price map it was generated from", async () => {
    const map = JSON.parse(readFileSync(contract, 'utf8'));
    // @ts-expect-error the generator is a plain .mjs script without types
    const { pricesFrom } = await import('../../../../scripts/generate-prices.mjs');
    expect(BUILTIN_PRICES).toEqual(pricesFrom(map));
    expect(Object.keys(BUILTIN_PRICES).length).toBeGreaterThan(10);
  });

  it('prices gpt-4o-mini as the map says and charges whole micro-dollars', () => {
    const price = new PriceTable().get('gpt-4o-mini');
    expect(price).toMatchObject({ inputUsdPerToken: 1.5e-7, outputUsdPerToken: 6e-7 });
    if (!price) return;
    expect(costMicros(price, 1_000, 0)).toBe(150);
    expect(costMicros(price, 1, 1)).toBe(1);
  });

  it('knows no price for an unknown model, and the free ones it is told', () => {
    const table = new PriceTable({}, ['hearth/offline']);
    expect(table.get('mystery-model')).toBeUndefined();
    expect(table.get('hearth/offline')).toMatchObject({ inputUsdPerToken: 0, outputUsdPerToken: 0 });
  });

  it('prices a Letta model handle (provider/model) by its model name', () => {
    const table = new PriceTable();
    expect(table.get('openai/gpt-4o-mini')).toEqual(table.get('gpt-4o-mini'));
    expect(table.get('openai/mystery-model')).toBeUndefined();
  });
});
