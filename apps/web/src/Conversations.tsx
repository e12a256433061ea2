import { useConversations } from '@hearth/react';
import { useEffect, useRef } from 'react';

interface Props {
  selected: string | undefined;
  onSelect(conversationId: string): void;
  /** The latest conversation, opened on arrival (without leaving the page one is on). */
  onOpen(conversationId: string): void;
}

export function Conversations({ selected, onSelect, onOpen }: Props) {
  const conversations = useConversations();
  const list = conversations.conversations;
  const opened = useRef(false);

  // After sign-in the latest conversation opens (the list is most recently active first), or a new
  // one. The chat always names its conversation: an answer still running is kept per conversation,
  // and after a reload it is this same one that opens and picks the answer up.
  const { create: createConversation } = conversations;
  useEffect(() => {
    if (opened.current || conversations.isLoading || selected !== undefined) return;
    opened.current = true;
    if (list[0]) onOpen(list[0].id);
    else void createConversation().then((conversation) => onOpen(conversation.id));
  }, [conversations.isLoading, selected, list, onOpen, createConversation]);

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
              aria-current={conversation.id === selected}
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
