import type { ModelInfo } from '@hearth/sdk';
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from './context';

export type { ModelInfo };

export interface UseModelsResult {
  /** The models a conversation or a send may name (`chat.models`), in the server's order. */
  models: ModelInfo[];
  /** The one a conversation without a model of its own answers with. */
  defaultModel: ModelInfo | null;
  isLoading: boolean;
  error: unknown;
}

/** Models change only when the server restarts with other settings: asked once per five minutes at most. */
const MODELS_STALE_MS = 5 * 60_000;

/** The models the server offers, with their context window and price per million tokens. */
export function useModels(): UseModelsResult {
  const trpc = useTRPC();
  const query = useQuery({ ...trpc.chat.models.queryOptions(), staleTime: MODELS_STALE_MS });
  const models = query.data?.models ?? [];
  return {
    models,
    defaultModel: models.find((model) => model.default) ?? models[0] ?? null,
    isLoading: query.isLoading,
    error: query.error,
  };
}

/**
 * The model a conversation answers with: its own while the server still offers it, else the
 * default (as the server decides for a send that names none).
 */
export function effectiveModel(models: readonly ModelInfo[], conversationModel: string | null): ModelInfo | null {
  return (
    models.find((model) => model.id === conversationModel) ?? models.find((model) => model.default) ?? models[0] ?? null
  );
}
