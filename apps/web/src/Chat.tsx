import { fileToAttachment, useBudget, useChat } from '@hearth/react';
import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { describeError } from './errors';
import { formatUsd } from './format';
import { Markdown } from './Markdown';
import { ModelPicker } from './ModelPicker';

export function Chat({ conversationId }: { conversationId: string }) {
  const chat = useChat({ conversationId });
  const [text, setText] = useState('');
  /** Files to send with the next message (images, PDFs, text and code). */
  const [files, setFiles] = useState<File[]>([]);
  const picker = useRef<HTMLInputElement>(null);
  /** The user message being edited: the composer's text replaces it (a new version) when sent. */
  const [editing, setEditing] = useState<string | null>(null);
  const { budget } = useBudget();
  const lastSent = useRef('');
  const list = useRef<HTMLDivElement>(null);
  const running = chat.status === 'sending' || chat.status === 'streaming';
  const last = chat.messages.at(-1);

  // Follow the answer as it grows, unless the reader scrolled up.
  useEffect(() => {
    const element = list.current;
    if (!element) return;
    const nearBottom = element.scrollHeight - element.scrollTop - element.clientHeight < 120;
    if (nearBottom || running) element.scrollTop = element.scrollHeight;
  }, [last?.content, chat.messages.length, running]);

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    const message = text.trim();
    if (!message || running) return;
    lastSent.current = message;
    setText('');
    if (editing) {
      setEditing(null);
      await chat.edit(editing, message);
    } else {
      const attachments = await Promise.all(files.map(fileToAttachment));
      setFiles([]);
      await chat.send(message, { attachments });
    }
  }

  function startEditing(id: string, content: string) {
    setEditing(id);
    setText(content);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  const error = chat.error;
  // A refused send (budget, rate limit) gives its text back for another try.
  useEffect(() => {
    if (error && lastSent.current) {
      setText((current) => current || lastSent.current);
      lastSent.current = '';
    }
  }, [error]);
  return (
    <section className="chat" aria-label="Chat">
      <ModelPicker conversationId={conversationId} />
      <div
        className="messages"
        ref={list}
        role="log"
        aria-label="Chat history"
        aria-live="polite"
        aria-busy={chat.isLoadingHistory}
      >
        {chat.messages.length === 0 ? <p className="muted message">Say hello. Try “my name is Ada”.</p> : null}
        {chat.messages.map((message) => (
          <article
            key={message.id}
            className={`message ${message.role}`}
            data-role={message.role}
            data-status={message.pending ? (message.role === 'user' ? 'sending' : 'streaming') : message.status}
            aria-label={message.role === 'user' ? 'You' : 'Hearth'}
          >
            {message.role === 'user' ? (
              <div className="body">{message.content}</div>
            ) : (
              <Markdown text={message.content} />
            )}
            {message.attachments?.length ? (
              <ul className="attachments" aria-label="Attachments">
                {message.attachments.map((file) => (
                  <li
                    key={file.id}
                    title={`${file.type}, ${formatBytes(file.size)}${file.truncated ? ', cut to fit' : ''}`}
                  >
                    📎 {file.name}
                  </li>
                ))}
              </ul>
            ) : null}
            {message.role === 'assistant' && !message.pending && message.status === 'incomplete' ? (
              <div className="meta">Stopped.</div>
            ) : null}
            {message.role === 'assistant' && message.status === 'failed' ? (
              <div className="meta">The answer failed.</div>
            ) : null}
            {message.pending ? null : (
              <div className="actions">
                {message.siblingIds.length > 1 ? (
                  <Versions
                    ids={message.siblingIds}
                    current={message.id}
                    disabled={running}
                    onSwitch={(id) => void chat.switchBranch(id)}
                  />
                ) : null}
                {message.role === 'user' && !running ? (
                  <button type="button" className="link" onClick={() => startEditing(message.id, message.content)}>
                    Edit
                  </button>
                ) : null}
                {message.role === 'assistant' && message === last && !running ? (
                  <button type="button" className="link" onClick={() => void chat.regenerate(message.id)}>
                    Regenerate
                  </button>
                ) : null}
              </div>
            )}
          </article>
        ))}
        {error ? (
          <p role="alert" className="alert message">
            {describeError(error, { remainingUsd: budget?.remainingUsd })}
          </p>
        ) : null}
      </div>
      <div className="composer">
        <form onSubmit={(event) => void submit(event)}>
          <label>
            <span className="sr-only">Message</span>
            <textarea
              rows={2}
              placeholder="Write a message…"
              value={text}
              onChange={(event) => setText(event.target.value)}
              onKeyDown={onKeyDown}
            />
          </label>
          {editing ? null : (
            <>
              <input
                ref={picker}
                type="file"
                multiple
                hidden
                aria-label="Attach files"
                accept={ATTACHABLE}
                onChange={(event) => {
                  const chosen = [...(event.target.files ?? [])];
                  setFiles((current) => [...current, ...chosen]);
                  event.target.value = '';
                }}
              />
              <button type="button" onClick={() => picker.current?.click()} disabled={running}>
                Attach
              </button>
            </>
          )}
          {editing ? (
            <button
              type="button"
              onClick={() => {
                setEditing(null);
                setText('');
              }}
            >
              Cancel edit
            </button>
          ) : null}
          {running ? (
            <button type="button" onClick={() => void chat.cancel()}>
              Stop
            </button>
          ) : null}
          <button type="submit" className="primary" disabled={running || text.trim() === ''}>
            {editing ? 'Save and answer' : 'Send'}
          </button>
        </form>
        {files.length > 0 ? (
          <ul className="attachments pending" aria-label="Files to send">
            {files.map((file, index) => (
              <li key={`${file.name}-${index}`}>
                📎 {file.name} <span className="muted">({formatBytes(file.size)})</span>{' '}
                <button
                  type="button"
                  className="link"
                  aria-label={`Remove ${file.name}`}
                  onClick={() => setFiles((current) => current.filter((_, i) => i !== index))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        ) : null}
        {chat.usage ? (
          <p className="muted usage-line">
            Last answer: {chat.usage.promptTokens + chat.usage.completionTokens} tokens, {formatUsd(chat.usage.costUsd)}
          </p>
        ) : null}
      </div>
    </section>
  );
}

/** What the attach control offers; the server checks every file's bytes whatever it is called. */
const ATTACHABLE =
  'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/*,application/json,.md,.markdown,.csv,.ts,.tsx,.js,.jsx,.py,.go,.rs,.java,.rb,.sh,.sql,.yaml,.yml,.toml';

function formatBytes(bytes: number): string {
  if (bytes < 1_000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 100) / 10} KB`;
  return `${Math.round(bytes / 100_000) / 10} MB`;
}

/** "‹ 2/3 ›": the versions of a point of the conversation (edits, regenerated answers). */
function Versions(props: { ids: string[]; current: string; disabled: boolean; onSwitch: (id: string) => void }) {
  const index = props.ids.indexOf(props.current);
  const go = (to: number) => {
    const id = props.ids[to];
    if (id) props.onSwitch(id);
  };
  return (
    <span className="versions">
      <button
        type="button"
        className="link"
        aria-label="Previous version"
        disabled={props.disabled || index <= 0}
        onClick={() => go(index - 1)}
      >
        ‹
      </button>
      <span title={`Version ${index + 1} of ${props.ids.length}`}>
        {index + 1}/{props.ids.length}
      </span>
      <button
        type="button"
        className="link"
        aria-label="Next version"
        disabled={props.disabled || index >= props.ids.length - 1}
        onClick={() => go(index + 1)}
      >
        ›
      </button>
    </span>
  );
}
