import type { ModelPrice } from '../billing/model-price';
import type { ModelInfo } from '../domain/chat';
import { AppError } from '../domain/errors';

const PER_MILLION = 1_000_000;

/** A model the server offers and its price; the catalog's first is the default. */
export interface OfferedModel {
  id: string;
  price: ModelPrice;
}

/**
 * The models a client may choose (LLM_MODELS, or LETTA_MODELS on Letta), each with its price. Every
 * model has one: the composition refuses to start with a model the price table does not know, so
 * a chosen model can always be reserved for and billed.
 */
export class ModelCatalog {
  private readonly byId: Map<string, OfferedModel>;
  readonly defaultModel: string;

  constructor(models: readonly OfferedModel[]) {
    const first = models[0];
    if (!first) throw new Error('a model catalog needs at least one model');
    this.defaultModel = first.id;
    this.byId = new Map(models.map((model) => [model.id, model]));
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  has(model: string): boolean {
    return this.byId.has(model);
  }

  /** What chat.models answers. */
  list(): ModelInfo[] {
    return [...this.byId.values()].map(({ id, price }) => ({
      id,
      contextWindow: price.contextWindow,
      maxOutputTokens: price.maxOutputTokensUnknown ? null : price.maxOutputTokens,
      inputUsdPerMillionTokens: roundUsd(price.inputUsdPerToken * PER_MILLION),
      outputUsdPerMillionTokens: roundUsd(price.outputUsdPerToken * PER_MILLION),
      supportsVision: price.supportsVision === true,
      default: id === this.defaultModel,
    }));
  }

  /** The model's limits for the built-in runtime: its context window and output cap. */
  price(model: string): ModelPrice | undefined {
    return this.byId.get(model)?.price;
  }

  /** Whether the model reads images (its price-map entry's `supports_vision`). */
  supportsVision(model: string): boolean {
    return this.byId.get(model)?.price.supportsVision === true;
  }

  /** Refuses a model the server does not offer, naming the ones it does. */
  check(model: string): string {
    if (!this.has(model)) {
      throw new AppError('INVALID_INPUT', `The model "${model}" is not available here.`, {
        fieldErrors: { model: [`Available: ${this.ids.join(', ')}`] },
      });
    }
    return model;
  }
}

/** Prices per million tokens, free of floating-point noise (0.15000000000000002). */
const roundUsd = (usd: number) => Math.round(usd * 1e6) / 1e6;
