import { useAuth } from '@hearth/react';
import { useState } from 'react';
import { Chat } from './Chat';
import { Conversations } from './Conversations';
import { HealthBadge } from './HealthBadge';
import { MemoryPanel } from './MemoryPanel';
import { useRoute } from './route';
import { UsagePage } from './UsagePage';

export function Workspace() {
  const auth = useAuth();
  const [route, navigate] = useRoute();
  const [conversationId, setConversationId] = useState<string | undefined>(undefined);

  return (
    <div className="shell">
      <header className="topbar">
        <a
          className="brand"
          href="/"
          onClick={(event) => {
            event.preventDefault();
            navigate('chat');
          }}
        >
          Hearth
        </a>
        <HealthBadge />
        <span className="spacer" />
        <a
          href="/usage"
          aria-current={route === 'usage' ? 'page' : undefined}
          onClick={(event) => {
            event.preventDefault();
            navigate('usage');
          }}
        >
          Usage
        </a>
        <span className="muted">{auth.user?.email}</span>
        <button type="button" onClick={() => void auth.logout()}>
          Log out
        </button>
      </header>
      <div className="workspace">
        <Conversations
          selected={conversationId}
          onOpen={setConversationId}
          onSelect={(id) => {
            setConversationId(id);
            navigate('chat');
          }}
        />
        {route === 'usage' ? (
          <UsagePage />
        ) : conversationId ? (
          <Chat key={conversationId} conversationId={conversationId} />
        ) : (
          <section className="chat" aria-label="Chat" aria-busy="true" />
        )}
        <MemoryPanel />
      </div>
    </div>
  );
}
