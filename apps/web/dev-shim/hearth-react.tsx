// TEMPORARY stand-in for @hearth/react while that package is being written; removed once it lands.
import {
  createHearthClient,
  type HearthClient,
  type MemoryBlock,
  type Message,
  type Session,
  type User,
} from '@hearth/sdk';
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';

export type { MemoryBlock };

const KEY = 'hearth.session';
interface AuthState {
  user: User | null;
  status: 'loading' | 'signedIn' | 'signedOut';
}
interface Ctx {
  auth: AuthState;
  setAuth(a: AuthState): void;
  client: HearthClient;
  version: number;
  bump(): void;
}
const HearthContext = createContext<Ctx | null>(null);

function load(): Session | null {
  const raw = localStorage.getItem(KEY);
  if (!raw) return null;
  const s = JSON.parse(raw) as Session;
  return { ...s, expiresAt: new Date(s.expiresAt) };
}

export function HearthProvider({ url, children }: { url: string; children: ReactNode }) {
  const [version, setVersion] = useState(0);
  const client = useMemo(
    () =>
      createHearthClient({
        url,
        session: load(),
        onSessionChange: (s) => (s ? localStorage.setItem(KEY, JSON.stringify(s)) : localStorage.removeItem(KEY)),
      }),
    [url],
  );
  const bump = useCallback(() => setVersion((v) => v + 1), []);
  const [auth, setAuth] = useState<AuthState>(() => ({ user: null, status: client.session ? 'loading' : 'signedOut' }));
  return <HearthContext.Provider value={{ client, version, bump, auth, setAuth }}>{children}</HearthContext.Provider>;
}

function useCtx(): Ctx {
  const ctx = useContext(HearthContext);
  if (!ctx) throw new Error('no provider');
  return ctx;
}

function useQuery<T>(fn: (c: HearthClient) => Promise<T>, deps: unknown[], intervalMs = 0) {
  const { client, version, auth } = useCtx();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: shim
  useEffect(() => {
    let live = true;
    if (!client.session) return;
    fn(client).then(
      (d) => live && setData(d),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [client, version, tick, auth.status, ...deps]);
  useEffect(() => {
    if (!intervalMs) return;
    const t = setInterval(() => setTick((x) => x + 1), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return { data, error, refetch: () => setTick((x) => x + 1) };
}

export function useAuth() {
  const { client, bump, auth, setAuth } = useCtx();
  useEffect(() => {
    if (!client.session || auth.status !== 'loading') return;
    client.auth.me.query().then(
      (u) => setAuth({ user: u, status: 'signedIn' }),
      () => setAuth({ user: null, status: 'signedOut' }),
    );
  }, [client, auth.status, setAuth]);
  return {
    ...auth,
    register: async (input: { email: string; password: string }) => {
      const r = await client.auth.register.mutate(input);
      setAuth({ user: r.user, status: 'signedIn' });
      bump();
    },
    login: async (input: { email: string; password: string }) => {
      const r = await client.auth.login.mutate(input);
      setAuth({ user: r.user, status: 'signedIn' });
      bump();
    },
    logout: async () => {
      await client.auth.logout.mutate({}).catch(() => {});
      client.setSession(null);
      setAuth({ user: null, status: 'signedOut' });
      bump();
    },
  };
}

type ChatMessage = Omit<Message, 'status'> & { status: Message['status'] | 'streaming' };

export function useChat({ conversationId }: { conversationId?: string }) {
  const { client, bump } = useCtx();
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [status, setStatus] = useState<'idle' | 'sending' | 'streaming'>('idle');
  const [error, setError] = useState<unknown>(null);
  const [usage, setUsage] = useState<Message['usage']>(null);
  const runRef = useRef<string | null>(null);

  const follow = useCallback(
    async (runId: string, convId: string) => {
      runRef.current = runId;
      setStatus('streaming');
      const liveId = `live-${runId}`;
      setMessages((m) => [
        ...m.filter((x) => x.id !== liveId),
        {
          id: liveId,
          conversationId: convId,
          role: 'assistant',
          content: '',
          status: 'streaming',
          createdAt: new Date(),
          usage: null,
        },
      ]);
      const patch = (f: (x: ChatMessage) => ChatMessage) =>
        setMessages((m) => m.map((x) => (x.id === liveId ? f(x) : x)));
      try {
        for await (const { data } of client.streamRun(runId)) {
          if (data.type === 'text.delta') patch((x) => ({ ...x, content: x.content + data.text }));
          else if (data.type === 'memory.updated') bump();
          else if (data.type === 'run.completed') {
            patch(() => data.message);
            setUsage(data.usage);
          } else if (data.type === 'run.failed') {
            setError({ data: { appCode: data.appCode } });
            patch((x) => ({ ...(data.partial ?? x), status: 'failed' }));
          } else if (data.type === 'run.cancelled') patch((x) => ({ ...(data.partial ?? x), status: 'incomplete' }));
        }
      } catch (e) {
        setError(e);
      } finally {
        runRef.current = null;
        setStatus('idle');
        bump();
      }
    },
    [client, bump],
  );

  useEffect(() => {
    let live = true;
    (async () => {
      const h = await client.chat.history.query(conversationId ? { conversationId } : {});
      if (!live) return;
      setMessages(h.messages);
      const st = await client.agent.status.query();
      const active = st.activeRunIds[0];
      if (active && live) void follow(active, conversationId ?? h.messages[0]?.conversationId ?? '');
    })().catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [client, conversationId, follow]);

  return {
    messages,
    status,
    error,
    usage,
    send: async (text: string) => {
      setError(null);
      setStatus('sending');
      const temp: ChatMessage = {
        id: `temp-${Date.now()}`,
        conversationId: conversationId ?? '',
        role: 'user',
        content: text,
        status: 'complete',
        createdAt: new Date(),
        usage: null,
      };
      setMessages((m) => [...m, temp]);
      try {
        const r = await client.chat.send.mutate({
          text,
          ...(conversationId ? { conversationId } : {}),
          clientMessageId: crypto.randomUUID(),
        });
        setMessages((m) => m.map((x) => (x.id === temp.id ? r.userMessage : x)));
        void follow(r.runId, r.conversationId);
      } catch (e) {
        setMessages((m) => m.filter((x) => x.id !== temp.id));
        setStatus('idle');
        throw e;
      }
    },
    cancel: async () => {
      if (runRef.current) await client.chat.cancel.mutate({ runId: runRef.current });
    },
  };
}

export function useConversations() {
  const q = useQuery((c) => c.chat.conversations.query({}), []);
  const { client, bump } = useCtx();
  return {
    conversations: q.data?.conversations ?? [],
    hasNextPage: false,
    fetchNextPage: async () => {},
    create: async (input: { title?: string }) => {
      const c = await client.chat.createConversation.mutate(input);
      bump();
      return c;
    },
  };
}

export function useMemory() {
  const q = useQuery((c) => c.agent.memory.query(), []);
  const { client, bump } = useCtx();
  return {
    blocks: q.data?.blocks ?? [],
    update: async (input: { label: string; value: string }) => {
      const b = await client.agent.updateMemory.mutate(input);
      bump();
      return b;
    },
  };
}

export function useUsage(input: { groupBy: 'day' | 'model' }) {
  return useQuery((c) => c.user.usage.query(input), [input.groupBy]);
}

export function useBudget() {
  const q = useQuery((c) => c.user.budget.query(), []);
  const { client, bump } = useCtx();
  return {
    ...q,
    setBudget: async (input: { limitUsd: number | null; period: 'day' | 'week' | 'month' | 'none' }) => {
      await client.user.setBudget.mutate(input);
      bump();
    },
  };
}

export function useHealth() {
  return useQuery((c) => c.user.health.query(), [], 15_000);
}
