import { useBudget, useChat } from '@hearth/react';
import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { describeError } from './errors';
import { formatUsd } from './format';
import { Markdown } from './Markdown';

export function Chat({ conversationId }: { conversationId: string }) {
  const chat = useChat({ conversationId });
  const [text, setText] = useState('');
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
    await chat.send(message);
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
            {message.role === 'assistant' && !message.pending && message.status === 'incomplete' ? (
              <div className="meta">Stopped.</div>
            ) : null}
            {message.role === 'assistant' && message.status === 'failed' ? (
              <div className="meta">The answer failed.</div>
            ) : null}
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
          {running ? (
            <button type="button" onClick={() => void chat.cancel()}>
              Stop
            </button>
          ) : null}
          <button type="submit" className="primary" disabled={running || text.trim() === ''}>
            Send
          </button>
        </form>
        {chat.usage ? (
          <p className="muted usage-line">
            Last answer: {chat.usage.promptTokens + chat.usage.completionTokens} tokens, {formatUsd(chat.usage.costUsd)}
          </p>
        ) : null}
      </div>
    </section>
  );
}
