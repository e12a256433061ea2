import { useConversations } from '@hearth/react';
import { useEffect } from 'react';

interface Props {
  selected: string | undefined;
  onSelect(conversationId: string | undefined): void;
}

export function Conversations({ selected, onSelect }: Props) {
  const conversations = useConversations();
  const list = conversations.conversations;

  // After sign-in the latest conversation opens (the list is most recently active first).
  useEffect(() => {
    if (selected === undefined && list.length > 0) onSelect(list[0]?.id);
  }, [selected, list, onSelect]);

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
