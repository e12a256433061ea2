import { effectiveModel, type ModelInfo, useConversations, useHealth, useModels } from '@hearth/react';
import { useId, useState } from 'react';
import { describeError } from './errors';
import { formatUsd } from './format';

/** "test-model — $1.00 in / $2.00 out per 1M tokens, 128K context" */
export function describeModel(model: ModelInfo): string {
  const context = model.contextWindow >= 1000 ? `${Math.round(model.contextWindow / 1000)}K` : model.contextWindow;
  const price = `${formatUsd(model.inputUsdPerMillionTokens)} in / ${formatUsd(model.outputUsdPerMillionTokens)} out per 1M tokens`;
  return `${model.id} — ${price}, ${context} context`;
}

/**
 * The model the conversation answers with, from the next answer on. Shows the server's models with
 * their price; a conversation that never chose one shows the default, which is what it answers with.
 * On Letta the model is the agent's, for every conversation (`agent.setModel`): not chosen here.
 */
export function ModelPicker({ conversationId }: { conversationId: string }) {
  const { models } = useModels();
  const conversations = useConversations();
  const { health } = useHealth();
  /** The model being saved, shown meanwhile rather than the one the list still has. */
  const [saving, setSaving] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const errorId = useId();
  const conversation = conversations.conversations.find((item) => item.id === conversationId);
  // Kept in the chat's grid even when empty: the history and the composer stay in their rows.
  if (models.length === 0 || health?.agent.backend === 'letta') return <div className="chat-header" />;
  const current = effectiveModel(models, saving ?? conversation?.model ?? null);

  async function choose(model: string) {
    setSaving(model);
    setError(null);
    try {
      await conversations.setModel(conversationId, model);
    } catch (failure) {
      setError(failure);
    } finally {
      setSaving(null);
    }
  }

  return (
    <div className="chat-header">
      <label className="model-picker">
        <span>Model</span>
        <select
          value={current?.id ?? ''}
          disabled={saving !== null || !conversation}
          aria-describedby={error ? errorId : undefined}
          onChange={(event) => void choose(event.target.value)}
        >
          {models.map((model) => (
            <option key={model.id} value={model.id}>
              {describeModel(model)}
            </option>
          ))}
        </select>
      </label>
      {error ? (
        <span id={errorId} role="alert" className="alert">
          {describeError(error)}
        </span>
      ) : null}
    </div>
  );
}
