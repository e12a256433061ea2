import { useConversations } from '@hearth/react';
import { useEffect, useRef } from 'react';

interface Props {
  /** The conversation on screen, for the highlight. */
  current: string | null;
  selected: string | undefined;
  onSelect(conversationId: string): void;
  /** The latest conversation, opened on arrival (without leaving the page one is on). */
  onOpen(conversationId: string): void;
}

export function Conversations({ current, selected, onSelect, onOpen }: Props) {
  const conversations = useConversations();
  const list = conversations.conversations;
  const opened = useRef(false);

  // After sign-in the latest conversation opens (the list is most recently active first). Only
  // once: a first message in the default conversation must not move the chat under the answer.
  useEffect(() => {
    if (opened.current || conversations.isLoading) return;
    opened.current = true;
    if (selected === undefined && list[0]) onOpen(list[0].id);
  }, [conversations.isLoading, selected, list, onOpen]);

  async function create() {
    const conversation = await conversations.create();
    onSelect(conversation.id);
  }

  return (
    <nav className="sidebar" aria-label="Conversations">
      <button type="button" onClick={() => void create()}>
        New conversation
      </button>
      <ul>
        {list.map((conversation) => (
          <li key={conversation.id}>
            <button
              type="button"
              aria-current={conversation.id === current}
              onClick={() => onSelect(conversation.id)}
              title={conversation.title ?? 'Untitled'}
            >
              {conversation.title ?? 'Untitled'}
            </button>
          </li>
        ))}
      </ul>
      {conversations.hasMore ? (
        <button type="button" onClick={() => void conversations.loadMore()}>
          Older
        </button>
      ) : null}
    </nav>
  );
}
