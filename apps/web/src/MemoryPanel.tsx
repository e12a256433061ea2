import { type UseMemoryResult, useMemory } from '@hearth/react';
import { useState } from 'react';
import { describeError } from './errors';
import { formatAgo, formatDateTime } from './format';

type MemoryBlock = UseMemoryResult['blocks'][number];

const WHO: Record<MemoryBlock['updatedBy'], string> = { agent: 'the agent', user: 'you', system: 'Hearth (default)' };

function Block({ block, save }: { block: MemoryBlock; save(value: string): Promise<unknown> }) {
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);

  async function submit() {
    if (draft === null) return;
    setSaving(true);
    setError(null);
    try {
      await save(draft);
      setDraft(null);
    } catch (caught) {
      setError(caught);
    } finally {
      setSaving(false);
    }
  }

  return (
    <article className="block" data-label={block.label} data-updated-by={block.updatedBy} aria-label={block.label}>
      <h3>
        {block.label}
        {block.updatedBy === 'agent' ? <span className="tag">changed by the agent</span> : null}
      </h3>
      {block.description ? <div className="muted">{block.description}</div> : null}
      {draft === null ? (
        <>
          <div className="value">{block.value || <span className="muted">(empty)</span>}</div>
          <div className="meta muted">
            <time dateTime={new Date(block.updatedAt).toISOString()} title={formatDateTime(block.updatedAt)}>
              Updated {formatAgo(block.updatedAt)}
            </time>{' '}
            by {WHO[block.updatedBy]} · {block.value.length}/{block.limit}
          </div>
          <div className="actions">
            <button type="button" onClick={() => setDraft(block.value)} aria-label={`Edit ${block.label}`}>
              Edit
            </button>
          </div>
        </>
      ) : (
        <>
          <textarea
            aria-label={`${block.label} memory`}
            value={draft}
            maxLength={block.limit}
            onChange={(event) => setDraft(event.target.value)}
          />
          <div className="actions">
            <button type="button" className="primary" disabled={saving} onClick={() => void submit()}>
              Save
            </button>
            <button type="button" disabled={saving} onClick={() => setDraft(null)}>
              Cancel
            </button>
          </div>
        </>
      )}
      {error ? (
        <p role="alert" className="alert">
          {describeError(error)}
        </p>
      ) : null}
    </article>
  );
}

export function MemoryPanel() {
  const memory = useMemory();
  return (
    <section className="memory" aria-label="Memory">
      <h2>Memory</h2>
      <p className="muted">What the agent keeps about itself and you, across conversations.</p>
      {memory.blocks.map((block) => (
        <Block key={block.label} block={block} save={(value) => memory.update(block.label, value)} />
      ))}
    </section>
  );
}
