import { readFileSync } from 'node:fs';
import { BUILTIN_PRICES } from './builtin-prices';
import type { ModelPrice } from './model-price';

export const FREE: ModelPrice = {
  inputUsdPerToken: 0,
  outputUsdPerToken: 0,
  contextWindow: 8_192,
  maxOutputTokens: 1_024,
  // The offline demo model takes image attachments (it says what it was sent), so they can be tried without a provider.
  supportsVision: true,
};

/** Money is integer micro-dollars inside Hearth; a fraction of one is charged as a whole one. */
export function costMicros(price: ModelPrice, promptTokens: number, completionTokens: number): number {
  const micros = (promptTokens * price.inputUsdPerToken + completionTokens * price.outputUsdPerToken) * 1_000_000;
  // The epsilon keeps floating-point noise (150.00000000000003) from charging a whole extra micro-dollar.
  return Math.max(0, Math.ceil(micros - 1e-9));
}

/**
 * Prices per model: the built-in table (taken from LiteLLM's price map), extended or overridden by
 * a file in the same format. A model missing here has no price, and Hearth refuses to run it.
 */
export class PriceTable {
  private readonly prices: Map<string, ModelPrice>;

  constructor(extra: Record<string, ModelPrice> = {}, free: readonly string[] = []) {
    this.prices = new Map(Object.entries({ ...BUILTIN_PRICES, ...extra }));
    for (const model of free) this.prices.set(model, FREE);
  }

  /** A model's price; a Letta-style handle (`openai/gpt-4.1-mini`) falls back to the bare model name. */
  get(model: string): ModelPrice | undefined {
    const exact = this.prices.get(model);
    if (exact) return exact;
    const slash = model.indexOf('/');
    return slash > 0 ? this.prices.get(model.slice(slash + 1)) : undefined;
  }

  /** Reads a price file in LiteLLM's format (`{ "<model>": { input_cost_per_token, output_cost_per_token, … } }`). */
  static readLiteLlmFile(path: string): Record<string, ModelPrice> {
    const map = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>;
    const prices: Record<string, ModelPrice> = {};
    for (const [model, entry] of Object.entries(map)) {
      const input = entry.input_cost_per_token;
      const output = entry.output_cost_per_token;
      if (typeof input !== 'number' || typeof output !== 'number') {
        throw new Error(`${path}: model "${model}" needs numeric input_cost_per_token and output_cost_per_token`);
      }
      const window = entry.max_input_tokens ?? entry.max_tokens;
      const maxOutput = entry.max_output_tokens ?? entry.max_tokens;
      prices[model] = {
        inputUsdPerToken: input,
        outputUsdPerToken: output,
        contextWindow: typeof window === 'number' ? window : 128_000,
        maxOutputTokens: typeof maxOutput === 'number' ? maxOutput : 4_096,
        ...(typeof maxOutput === 'number' ? {} : { maxOutputTokensUnknown: true as const }),
        ...(entry.supports_vision === true ? { supportsVision: true as const } : {}),
      };
    }
    return prices;
  }
}
