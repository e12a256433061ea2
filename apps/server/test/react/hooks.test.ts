import {
  HearthProvider,
  type HearthStorage,
  memoryStorage,
  useAccount,
  useAuth,
  useBudget,
  useChat,
  useConversations,
  useHealth,
  useMemory,
  useMemoryHistory,
  useModels,
  useUsage,
} from '@hearth/react';
import { type Conversation, createHearthClient, isHearthError } from '@hearth/sdk';
import { act, cleanup, render, renderHook, waitFor } from '@testing-library/react';
import { createElement, type ReactNode } from 'react';
import { afterEach, describe, expect, inject, it } from 'vitest';

// The server runs in global-setup.ts; this file, in happy-dom, imports nothing of the server's.
const url = inject('hearthUrl');
const PASSWORD = 'a sturdy passphrase 42';
const uniqueEmail = (tag: string) => `${tag}-${Date.now().toString(36)}-${crypto.randomUUID()}@example.com`;
const ANSWER = "Nice to meet you, Ada! I'll remember your name.";

function providerFor(storage: HearthStorage) {
  return ({ children }: { children?: ReactNode }) => createElement(HearthProvider, { url, storage }, children);
}

/** Storage holding the session of a fresh user, as a page that signed up earlier leaves it. */
async function signedInStorage(): Promise<HearthStorage> {
  const storage = memoryStorage();
  const client = createHearthClient({ url });
  const { session } = await client.auth.register.mutate({ email: uniqueEmail('react'), password: PASSWORD });
  storage.setItem('hearth.session', JSON.stringify(session));
  return storage;
}

afterEach(() => cleanup());

describe('useAuth', () => {
  it('registers, persists the session as JSON, restores it on a new page, and logs out', async () => {
    const storage = memoryStorage();
    const email = uniqueEmail('react-auth');
    const first = renderHook(() => useAuth(), { wrapper: providerFor(storage) });
    expect(first.result.current.status).toBe('signedOut');

    await act(() => first.result.current.register({ email, password: PASSWORD }));
    await waitFor(() => expect(first.result.current.status).toBe('signedIn'));
    expect(first.result.current.user?.email).toBe(email);
    const saved = JSON.parse(storage.getItem('hearth.session') ?? 'null');
    expect(typeof saved.expiresAt).toBe('string');
    first.unmount();

    // A reload: a new client, the session read back from storage (expiresAt a string).
    const second = renderHook(() => useAuth(), { wrapper: providerFor(storage) });
    expect(second.result.current.status).toBe('loading');
    await waitFor(() => expect(second.result.current.status).toBe('signedIn'));
    expect(second.result.current.user?.email).toBe(email);

    await act(() => second.result.current.logout());
    expect(second.result.current.status).toBe('signedOut');
    expect(second.result.current.user).toBeNull();
    expect(storage.getItem('hearth.session')).toBeNull();
  });

  it('signs in every component using it, not only the one that logged in', async () => {
    const storage = memoryStorage();
    const email = uniqueEmail('react-auth-two');
    let register: ReturnType<typeof useAuth>['register'] | undefined;
    let header = '';
    // Two components of one page, each with its own useAuth: the header re-renders only when its
    // own state changes, not the form's.
    function Header() {
      const auth = useAuth();
      header = `${auth.status} ${auth.user?.email ?? ''}`;
      return null;
    }
    function Form() {
      register = useAuth().register;
      return null;
    }
    const Wrapper = providerFor(storage);
    render(createElement(Wrapper, null, createElement(Header), createElement(Form)));
    await act(async () => {
      await register?.({ email, password: PASSWORD });
    });
    await waitFor(() => expect(header).toBe(`signedIn ${email}`));
  });

  it('reports a wrong password with its appCode', async () => {
    const storage = memoryStorage();
    const { result } = renderHook(() => useAuth(), { wrapper: providerFor(storage) });
    await act(() => result.current.login({ email: uniqueEmail('nobody'), password: PASSWORD }).catch(() => {}));
    await waitFor(() => expect(isHearthError(result.current.error, 'INVALID_CREDENTIALS')).toBe(true));
    expect(result.current.status).toBe('signedOut');
  });
});

describe('useChat', () => {
  it('shows the user message at once and the answer in several renders as deltas arrive', async () => {
    const storage = await signedInStorage();
    const seen: string[] = [];
    const { result } = renderHook(
      () => {
        const chat = useChat();
        const last = chat.messages.at(-1);
        if (last?.role === 'assistant' && last.pending) seen.push(last.content);
        return chat;
      },
      { wrapper: providerFor(storage) },
    );
    await waitFor(() => expect(result.current.isLoadingHistory).toBe(false));

    let sent: Promise<void> = Promise.resolve();
    act(() => {
      sent = result.current.send('My name is Ada');
    });
    // Before the server has answered: the message is on screen, marked pending.
    expect(result.current.messages.at(-1)).toMatchObject({ role: 'user', content: 'My name is Ada', pending: true });
    expect(result.current.status).toBe('sending');
    await act(() => sent);

    await waitFor(() => expect(result.current.status).toBe('idle'), { timeout: 10_000 });
    const [user, answer] = result.current.messages;
    expect(user).toMatchObject({ role: 'user', content: 'My name is Ada', pending: false });
    expect(answer).toMatchObject({ role: 'assistant', content: ANSWER, status: 'complete', pending: false });
    expect(result.current.messages).toHaveLength(2);
    expect(result.current.usage?.completionTokens).toBeGreaterThan(0);
    // Several partial renders, each a prefix of the next: appended, never rewritten.
    const partials = [...new Set(seen)].filter(Boolean);
    expect(partials.length).toBeGreaterThanOrEqual(3);
    for (const [i, text] of partials.entries()) {
      expect(ANSWER.startsWith(text)).toBe(true);
      if (i > 0) expect(text.length).toBeGreaterThan(partials[i - 1]?.length ?? 0);
    }
    expect(result.current.conversationId).toEqual(expect.any(String));
  });

  it('sends once on a double click', async () => {
    const storage = await signedInStorage();
    const { result } = renderHook(() => useChat(), { wrapper: providerFor(storage) });
    await waitFor(() => expect(result.current.isLoadingHistory).toBe(false));
    await act(async () => {
      const send = result.current.send;
      await Promise.all([send('My name is Ada'), send('My name is Ada')]);
    });
    await waitFor(() => expect(result.current.status).toBe('idle'), { timeout: 10_000 });
    await waitFor(() => expect(result.current.messages.every((m) => !m.pending)).toBe(true));
    expect(result.current.messages.map((m) => m.role)).toEqual(['user', 'assistant']);

    const client = createHearthClient({ url, session: JSON.parse(storage.getItem('hearth.session') ?? 'null') });
    const history = await client.chat.history.query({});
    expect(history.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
  });

  it('regenerates the last answer and edits a message, showing the new branch and its versions', async () => {
    const storage = await signedInStorage();
    const renders: string[][] = [];
    const { result } = renderHook(
      () => {
        const chat = useChat();
        renders.push(chat.messages.map((m) => m.id));
        return chat;
      },
      { wrapper: providerFor(storage) },
    );
    await waitFor(() => expect(result.current.isLoadingHistory).toBe(false));
    await act(() => result.current.send('My name is Ada'));
    await waitFor(() => expect(result.current.status).toBe('idle'), { timeout: 10_000 });
    await waitFor(() => expect(result.current.messages.every((m) => !m.pending)).toBe(true));
    const [question, oldAnswer] = result.current.messages;

    const before = renders.length;
    await act(() => result.current.regenerate());
    await waitFor(() => expect(result.current.status).toBe('idle'), { timeout: 10_000 });
    // While the new answer streamed, the one it replaces was never shown next to it.
    const during = renders.slice(before);
    expect(during.some((ids) => ids.some((id) => id.startsWith('live:')))).toBe(true);
    expect(during.every((ids) => ids.length <= 2)).toBe(true);
    expect(
      during.every((ids) => !(ids.includes(oldAnswer?.id ?? '') && ids.some((id) => id.startsWith('live:')))),
    ).toBe(true);
    await waitFor(() => expect(result.current.messages.at(-1)?.siblingIds).toHaveLength(2));
    expect(result.current.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(result.current.messages[0]?.id).toBe(question?.id);
    expect(result.current.messages.at(-1)?.siblingIds[0]).toBe(oldAnswer?.id);

    await act(() => result.current.edit(question?.id ?? '', 'My name is Grace'));
    await waitFor(() => expect(result.current.status).toBe('idle'), { timeout: 10_000 });
    await waitFor(() => expect(result.current.messages[0]?.siblingIds).toHaveLength(2));
    expect(result.current.messages.map((m) => [m.role, m.pending])).toEqual([
      ['user', false],
      ['assistant', false],
    ]);
    expect(result.current.messages[0]?.content).toBe('My name is Grace');

    await act(() => result.current.switchBranch(question?.id ?? ''));
    await waitFor(() => expect(result.current.messages[0]?.content).toBe('My name is Ada'));
    // The branch left behind (the edit and its answer) is not shown any more.
    expect(result.current.messages.map((m) => m.id)).toEqual([question?.id, result.current.messages[1]?.id]);
    expect(result.current.messages.map((m) => m.content)).not.toContain('My name is Grace');
    await act(() => result.current.switchBranch(oldAnswer?.id ?? ''));
    await waitFor(() => expect(result.current.messages.map((m) => m.id)).toEqual([question?.id, oldAnswer?.id]));
  });

  it('picks a running answer up again after a remount, from the last event: no gap, no repeat', async () => {
    const storage = await signedInStorage();
    const first = renderHook(() => useChat(), { wrapper: providerFor(storage) });
    await waitFor(() => expect(first.result.current.isLoadingHistory).toBe(false));
    await act(() => first.result.current.send('My name is Ada'));
    await waitFor(
      () => {
        const last = first.result.current.messages.at(-1);
        expect(last?.role === 'assistant' && last.pending && last.content.length > 0).toBe(true);
      },
      { interval: 2 },
    );
    const cut = first.result.current.messages.at(-1)?.content ?? '';
    first.unmount();
    const stored = JSON.parse(storage.getItem('hearth.run.default') ?? 'null');
    expect(stored).toMatchObject({ runId: expect.any(String), lastEventId: expect.any(String) });
    expect(ANSWER.startsWith(stored.text)).toBe(true);
    expect(stored.text.length).toBeGreaterThanOrEqual(cut.length);

    // The page again: a new client and QueryClient, only the storage kept.
    const seen: string[] = [];
    const second = renderHook(
      () => {
        const chat = useChat();
        const last = chat.messages.at(-1);
        if (last?.role === 'assistant') seen.push(last.content);
        return chat;
      },
      { wrapper: providerFor(storage) },
    );
    await waitFor(() => expect(second.result.current.status).toBe('idle'), { timeout: 10_000 });
    await waitFor(() => expect(second.result.current.messages.every((m) => !m.pending)).toBe(true));
    expect(second.result.current.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'My name is Ada'],
      ['assistant', ANSWER],
    ]);
    // Every render showed a prefix of the answer: nothing skipped, nothing twice.
    for (const text of seen) expect(ANSWER.startsWith(text), text).toBe(true);
    expect(storage.getItem('hearth.run.default')).toBeNull();
  });

  it('finishes an answer whose stream the network dropped mid-way, with no gap or repeat', async () => {
    const storage = await signedInStorage();
    let drops = 0;
    // The first event stream is cut after a few chunks, as a flaky network would.
    const flaky: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (drops > 0 || !String(input).includes('chat.events') || !response.body) return response;
      drops += 1;
      const reader = response.body.getReader();
      let chunks = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          controller.enqueue(value);
          chunks += 1;
          // The rest of the original stream is left unread (happy-dom's fetch throws on a cancel).
          if (chunks === 3) controller.error(new TypeError('network dropped'));
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const client = createHearthClient({
      url,
      fetch: flaky,
      session: JSON.parse(storage.getItem('hearth.session') ?? 'null'),
    });
    const seen: string[] = [];
    const { result } = renderHook(
      () => {
        const chat = useChat();
        const last = chat.messages.at(-1);
        if (last?.role === 'assistant') seen.push(last.content);
        return chat;
      },
      {
        wrapper: ({ children }: { children?: ReactNode }) =>
          createElement(HearthProvider, { client, storage }, children),
      },
    );
    await waitFor(() => expect(result.current.isLoadingHistory).toBe(false));
    await act(() => result.current.send('My name is Ada'));
    await waitFor(() => expect(result.current.status).toBe('idle'), { timeout: 15_000 });
    expect(drops).toBe(1);
    await waitFor(() => expect(result.current.messages.every((m) => !m.pending)).toBe(true));
    expect(result.current.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'My name is Ada'],
      ['assistant', ANSWER],
    ]);
    for (const text of seen) expect(ANSWER.startsWith(text), text).toBe(true);
  });

  it('refreshes the memory when the agent updates it, and edits and resets blocks', async () => {
    const storage = await signedInStorage();
    const { result } = renderHook(() => ({ chat: useChat(), memory: useMemory() }), {
      wrapper: providerFor(storage),
    });
    await waitFor(() => expect(result.current.memory.blocks.length).toBeGreaterThan(0));
    expect(result.current.memory.blocks.find((b) => b.label === 'human')?.value).not.toMatch(/Ada/);

    await act(() => result.current.chat.send('My name is Ada'));
    await waitFor(() => expect(result.current.memory.blocks.find((b) => b.label === 'human')?.value).toMatch(/Ada/), {
      timeout: 10_000,
    });
    expect(result.current.memory.blocks.find((b) => b.label === 'human')?.updatedBy).toBe('agent');
    await waitFor(() => expect(result.current.chat.status).toBe('idle'), { timeout: 10_000 });

    await act(async () => {
      await result.current.memory.update('human', 'Prefers tea.');
    });
    // Query results reach React on the QueryClient's next tick, hence waitFor.
    await waitFor(() =>
      expect(result.current.memory.blocks.find((b) => b.label === 'human')).toMatchObject({
        value: 'Prefers tea.',
        updatedBy: 'user',
      }),
    );
    await act(() => result.current.memory.reset());
    await waitFor(() =>
      expect(result.current.memory.blocks.find((b) => b.label === 'human')?.value).not.toMatch(/tea/),
    );
  });
});

describe('useMemoryHistory', () => {
  it("lists a block's versions, and undoes the agent's change by reverting to the version before it", async () => {
    const storage = await signedInStorage();
    const { result } = renderHook(
      () => ({ chat: useChat(), memory: useMemory(), history: useMemoryHistory({ label: 'human' }) }),
      { wrapper: providerFor(storage) },
    );
    await waitFor(() => expect(result.current.memory.blocks.length).toBeGreaterThan(0));
    await act(() => result.current.memory.update('human', 'Prefers tea.'));
    await act(() => result.current.chat.send('My name is Ada'));
    await waitFor(() => expect(result.current.chat.status).toBe('idle'), { timeout: 10_000 });
    await act(() => result.current.history.refetch());
    await waitFor(() => expect(result.current.history.versions[0]?.updatedBy).toBe('agent'));
    const [change, previous] = result.current.history.versions;
    expect(change?.value).toMatch(/Ada/);
    expect(previous).toMatchObject({ value: 'Prefers tea.', updatedBy: 'user' });

    const block = await act(() => result.current.history.revert(previous?.id ?? ''));
    expect(block).toMatchObject({ label: 'human', value: 'Prefers tea.', updatedBy: 'user' });
    await waitFor(() =>
      expect(result.current.memory.blocks.find((b) => b.label === 'human')?.value).toBe('Prefers tea.'),
    );
    await waitFor(() => expect(result.current.history.versions[0]).toMatchObject({ value: 'Prefers tea.' }));
    expect(result.current.history.versions[1]?.id).toBe(change?.id);
  });
});

describe('useAccount', () => {
  it('exports the data as a JSON Blob, and deletes the account: signed out, the login refused', async () => {
    const storage = memoryStorage();
    const email = uniqueEmail('react-account');
    const { result } = renderHook(() => ({ auth: useAuth(), account: useAccount() }), {
      wrapper: providerFor(storage),
    });
    await act(() => result.current.auth.register({ email, password: PASSWORD }));
    await waitFor(() => expect(result.current.auth.status).toBe('signedIn'));

    const blob = await act(() => result.current.account.exportData());
    expect(blob.type).toBe('application/json');
    const data = JSON.parse(await blob.text());
    expect(data).toMatchObject({ format: 'hearth.user-export/1', profile: { email } });

    const wrong = await act(() => result.current.account.deleteAccount('not the password').catch((e: unknown) => e));
    expect(isHearthError(wrong, 'INVALID_CREDENTIALS')).toBe(true);
    expect(result.current.auth.status).toBe('signedIn');

    await act(() => result.current.account.deleteAccount(PASSWORD));
    await waitFor(() => expect(result.current.auth.status).toBe('signedOut'));
    expect(storage.getItem('hearth.session')).toBeNull();
    const login = await createHearthClient({ url })
      .auth.login.mutate({ email, password: PASSWORD })
      .catch((e: unknown) => e);
    expect(isHearthError(login)).toBe(true);
  });
});

describe('useConversations', () => {
  it('lists, creates, renames and deletes, page by page', async () => {
    const storage = await signedInStorage();
    const { result } = renderHook(() => useConversations({ pageSize: 2 }), { wrapper: providerFor(storage) });
    await waitFor(() => expect(result.current.isLoading).toBe(false));
    const made: Conversation[] = [];
    for (const title of ['one', 'two', 'three']) {
      made.push(await act(() => result.current.create(title)));
    }
    await waitFor(() => expect(result.current.conversations.map((c) => c.title)).toEqual(['three', 'two']));
    expect(result.current.hasMore).toBe(true);
    await act(() => result.current.loadMore());
    await waitFor(() => expect(result.current.conversations.map((c) => c.title)).toEqual(['three', 'two', 'one']));

    await act(() => result.current.rename(made[0]?.id ?? '', 'first'));
    await waitFor(() => expect(result.current.conversations.map((c) => c.title)).toContain('first'));
    await act(() => result.current.remove(made[1]?.id ?? ''));
    await waitFor(() => expect(result.current.conversations.map((c) => c.title)).not.toContain('two'));

    // A model per conversation: one of chat.models, then back to the default.
    const modelled = await act(() => result.current.create('modelled', 'hearth/offline'));
    expect(modelled.model).toBe('hearth/offline');
    await waitFor(() =>
      expect(result.current.conversations.find((c) => c.id === modelled.id)?.model).toBe('hearth/offline'),
    );
    await act(() => result.current.setModel(modelled.id, null));
    await waitFor(() => expect(result.current.conversations.find((c) => c.id === modelled.id)?.model).toBeNull());
  });
});

describe('useModels', () => {
  it("lists the server's models and names the default", async () => {
    const storage = await signedInStorage();
    const { result } = renderHook(() => useModels(), { wrapper: providerFor(storage) });
    await waitFor(() => expect(result.current.isLoading).toBe(false));
    expect(result.current.models.map((model) => model.id)).toEqual(['hearth/offline']);
    expect(result.current.defaultModel).toMatchObject({
      id: 'hearth/offline',
      default: true,
      contextWindow: expect.any(Number),
    });
  });
});

describe('useUsage, useBudget, useHealth', () => {
  it('count an answer, and set a budget that health then reports', async () => {
    const storage = await signedInStorage();
    const { result } = renderHook(
      () => ({ chat: useChat(), usage: useUsage(), budget: useBudget(), health: useHealth() }),
      { wrapper: providerFor(storage) },
    );
    await waitFor(() => expect(result.current.usage.usage?.totals.requests).toBe(0));
    await waitFor(() => expect(result.current.health.health?.status).toBe('ok'));

    await act(() => result.current.chat.send('My name is Ada'));
    await waitFor(() => expect(result.current.chat.status).toBe('idle'), { timeout: 10_000 });
    // Refreshed after the answer, with no refetch of our own.
    await waitFor(() => expect(result.current.usage.usage?.totals.requests).toBeGreaterThan(0));
    expect(result.current.usage.usage?.buckets).toEqual(expect.any(Array));
    await waitFor(() => expect(result.current.budget.budget).toMatchObject({ limitUsd: null }));

    await act(async () => {
      await result.current.budget.setBudget({ limitUsd: 0, period: 'month' });
    });
    await waitFor(() => expect(result.current.budget.budget).toMatchObject({ limitUsd: 0, remainingUsd: 0 }));
    // The offline model is free, so a zero limit blocks nothing; health shows the limit reached.
    await waitFor(() => expect(result.current.health.health?.budget).toMatchObject({ limitUsd: 0, remainingUsd: 0 }));
  });
});

describe('useChat errors', () => {
  it('reports a refused send with its appCode and takes the pending message back', async () => {
    const storage = await signedInStorage();
    const missing = crypto.randomUUID();
    const { result } = renderHook(() => useChat({ conversationId: missing }), {
      wrapper: providerFor(storage),
    });
    await waitFor(() => expect(result.current.isLoadingHistory).toBe(false));
    await act(() => result.current.send('Anyone there?'));
    await waitFor(() => expect(result.current.status).toBe('error'));
    expect(isHearthError(result.current.error, 'NOT_FOUND')).toBe(true);
    expect(result.current.messages).toEqual([]);
  });
});
