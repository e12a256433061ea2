import { type UseMemoryResult, useMemory, useMemoryHistory } from '@hearth/react';
import { useEffect, useState } from 'react';
import { describeError } from './errors';
import { formatAgo, formatDateTime } from './format';

type MemoryBlock = UseMemoryResult['blocks'][number];

const WHO: Record<MemoryBlock['updatedBy'], string> = { agent: 'the agent', user: 'you', system: 'Hearth (default)' };

const AUTHOR: Record<MemoryBlock['updatedBy'], string> = { agent: 'Agent', user: 'You', system: 'Hearth' };

/** The block's versions, newest first; a change by the agent can be undone (its previous value written again). */
function History({ block }: { block: MemoryBlock }) {
  const [open, setOpen] = useState(false);
  const history = useMemoryHistory({ label: block.label, enabled: open });
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState<string | null>(null);
  const { refetch } = history;
  const updatedAt = new Date(block.updatedAt).getTime();

  // The block changed (an answer, an edit, an undo): its history has a new version.
  useEffect(() => {
    if (open && updatedAt) void refetch();
  }, [open, updatedAt, refetch]);

  async function undo(versionId: string, previousId: string) {
    setPending(versionId);
    setError(null);
    try {
      await history.revert(previousId);
    } catch (caught) {
      setError(caught);
    } finally {
      setPending(null);
    }
  }

  return (
    <details className="history" onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>History</summary>
      {open && history.isLoading ? <p className="muted">Loading…</p> : null}
      {open && !history.isLoading ? (
        <ol aria-label={`${block.label} history`}>
          {history.versions.map((version, index) => {
            // Undoing writes the value from before the change again: the version just older than it.
            const previous = history.versions[index + 1];
            return (
              <li key={version.id} className="version" data-updated-by={version.updatedBy}>
                <div className="meta muted">
                  {AUTHOR[version.updatedBy]} ·{' '}
                  <time dateTime={new Date(version.createdAt).toISOString()} title={formatDateTime(version.createdAt)}>
                    {formatAgo(version.createdAt)}
                  </time>
                </div>
                <div className="value">{version.value || <span className="muted">(empty)</span>}</div>
                {version.updatedBy === 'agent' && previous ? (
                  <button
                    type="button"
                    disabled={pending !== null}
                    onClick={() => void undo(version.id, previous.id)}
                    aria-label="Undo this change"
                  >
                    Undo
                  </button>
                ) : null}
              </li>
            );
          })}
        </ol>
      ) : null}
      {open && history.hasMore ? <p className="muted">Older versions are not shown.</p> : null}
      {error || history.error ? (
        <p role="alert" className="alert">
          {describeError(error ?? history.error)}
        </p>
      ) : null}
    </details>
  );
}

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
      <History block={block} />
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
