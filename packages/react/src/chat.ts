import {
  type AppCode,
  type AttachmentUpload,
  type HearthClient,
  isHearthError,
  type MemoryBlock,
  type Message,
  type SendResult,
  type Usage,
} from '@hearth/sdk';
import { type QueryClient, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useHearth, useTRPC } from './context';
import { readJson, writeJson } from './storage';

export type ChatStatus = 'idle' | 'sending' | 'streaming' | 'error';

/** A message of the history, or one not stored yet: the user's being sent, or the answer streaming. */
export type ChatMessage = Message & {
  /** The user's message before the server took it, or the answer while it streams. */
  pending: boolean;
  /**
   * Every version of this point of the conversation (edits, regenerated answers), this one included,
   * oldest first; `switchBranch` to one of them to show it. Empty while the message is not stored yet.
   */
  siblingIds: string[];
};

export interface UseChatOptions {
  /** Unset: the user's default conversation. */
  conversationId?: string;
}

export interface SendOptions {
  /** Files sent with the message (`chat.send`'s `attachments`); `fileToAttachment` reads a browser File. */
  attachments?: AttachmentUpload[];
}

/** A browser File as an attachment for `send`: its name, type and bytes in base64. */
export async function fileToAttachment(file: Blob & { name: string }): Promise<AttachmentUpload> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  // In slices: String.fromCharCode takes only so many arguments at once.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { name: file.name, type: file.type, data: btoa(binary) };
}

export interface UseChatResult {
  /** The history (latest page, oldest first), then the user's message being sent and the live answer. */
  messages: ChatMessage[];
  /** Sends a message. Ignored while a message is being sent or answered (a double click sends once). */
  send(text: string, options?: SendOptions): Promise<void>;
  /**
   * Answers the last user message again (`chat.regenerate`); the old answer stays, a version of the new
   * one. Unset `messageId`: the last answer shown. Ignored while a message is being sent or answered.
   */
  regenerate(messageId?: string): Promise<void>;
  /**
   * Writes one of the user's messages anew and answers from there (`chat.editMessage`); what followed
   * the old one stays, on its own branch. Ignored while a message is being sent or answered.
   */
  edit(messageId: string, text: string): Promise<void>;
  /** Shows the branch through a version of a message (one of a message's `siblingIds`). */
  switchBranch(messageId: string): Promise<void>;
  /** Stops the running answer; its text so far is kept. */
  cancel(): Promise<void>;
  status: ChatStatus;
  /** Why the last send or answer failed: `isHearthError(error, 'BUDGET_EXCEEDED')` and the like. */
  error: unknown;
  /** The last completed answer's usage. */
  usage: Usage | null;
  /** The conversation the messages belong to, once known. */
  conversationId: string | null;
  isLoadingHistory: boolean;
}

/** What survives a reload about an answer still streaming: enough to resume without a gap. */
interface StoredRun {
  runId: string;
  conversationId: string;
  userMessageId: string;
  lastEventId: string | null;
  /** The text received up to lastEventId. */
  text: string;
}

interface LiveAnswer {
  run: StoredRun;
  /** Set when the run ended: the stored message (or the partial one), replacing the streamed text. */
  final: Message | null;
  ended: boolean;
}

const RESUME_ATTEMPTS = 6;

/** A run that ended in `run.failed`: its appCode (`BUDGET_EXCEEDED`, `UPSTREAM_TIMEOUT`, …). */
export class RunFailedError extends Error {
  override readonly name = 'RunFailedError';
  constructor(
    message: string,
    readonly appCode: AppCode | (string & {}),
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

function liveMessage(live: LiveAnswer): ChatMessage {
  if (live.final) return { ...live.final, pending: false, siblingIds: [] };
  return {
    id: `live:${live.run.runId}`,
    conversationId: live.run.conversationId,
    parentId: live.run.userMessageId,
    siblingIds: [],
    role: 'assistant',
    content: live.run.text,
    status: 'incomplete',
    createdAt: new Date(),
    usage: null,
    pending: true,
  };
}

/** Follows a run to its end, from `run.lastEventId`; reconnects after a network failure. */
async function followRun(options: {
  client: HearthClient;
  queryClient: QueryClient;
  memoryKey: readonly unknown[];
  /** The conversations list, refreshed when a run reports `conversation.updated` (a new title). */
  conversationsKey: readonly unknown[];
  run: StoredRun;
  signal: AbortSignal;
  save: (run: StoredRun) => void;
  onText: (run: StoredRun) => void;
  onEnd: (final: Message | null, outcome: { usage?: Usage; error?: unknown }) => void;
  onError: (error: unknown) => void;
}): Promise<void> {
  const { client, signal } = options;
  let run = options.run;
  for (let attempt = 0; !signal.aborted; attempt += 1) {
    try {
      const events = client.streamRun(run.runId, {
        signal,
        ...(run.lastEventId ? { lastEventId: run.lastEventId } : {}),
      });
      for await (const { id, data } of events) {
        attempt = 0;
        if (data.type === 'text.delta') {
          run = { ...run, lastEventId: id, text: run.text + data.text };
          options.save(run);
          options.onText(run);
          continue;
        }
        run = { ...run, lastEventId: id };
        options.save(run);
        if (data.type === 'memory.updated') {
          updateMemoryBlock(options.queryClient, options.memoryKey, data.block);
        } else if (data.type === 'conversation.updated') {
          void options.queryClient.invalidateQueries({ queryKey: options.conversationsKey });
        } else if (data.type === 'run.completed') {
          return options.onEnd(data.message, { usage: data.usage });
        } else if (data.type === 'run.failed') {
          return options.onEnd(data.partial, { error: new RunFailedError(data.message, data.appCode, data.retryable) });
        } else if (data.type === 'run.cancelled') {
          return options.onEnd(data.partial, {});
        }
      }
      // The stream ended with no terminal event (aborted, or closed early): resume it, unless aborted.
    } catch (error) {
      if (signal.aborted) return;
      // The API's refusals (NOT_FOUND: the run is gone) are final; a dropped network is not.
      if (isHearthError(error) || attempt >= RESUME_ATTEMPTS) return options.onError(error);
      await sleep(Math.min(250 * 2 ** attempt, 4_000), signal);
    }
  }
}

function updateMemoryBlock(queryClient: QueryClient, key: readonly unknown[], block: MemoryBlock): void {
  queryClient.setQueryData<{ blocks: MemoryBlock[] }>(key, (old) =>
    old
      ? {
          blocks: old.blocks.some((b) => b.label === block.label)
            ? old.blocks.map((b) => (b.label === block.label ? block : b))
            : [...old.blocks, block],
        }
      : old,
  );
  void queryClient.invalidateQueries({ queryKey: key });
}

/**
 * One conversation: its history, the user's message shown at once, the answer as it streams. An
 * answer still running when the page reloads or the network drops is picked up from the last event
 * received (kept in storage per conversation), so it finishes on screen with no gap and no repeat.
 */
export function useChat(options: UseChatOptions = {}): UseChatResult {
  const { client, storage, storageKey } = useHearth();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const conversationId = options.conversationId;
  const runKey = `${storageKey}.run.${conversationId ?? 'default'}`;
  const historyInput = useMemo(() => (conversationId ? { conversationId } : {}), [conversationId]);
  const history = useQuery(trpc.chat.history.queryOptions(historyInput));

  const [pendingUser, setPendingUser] = useState<ChatMessage | null>(null);
  const [live, setLive] = useState<LiveAnswer | null>(null);
  const [status, setStatus] = useState<ChatStatus>('idle');
  const [error, setError] = useState<unknown>(null);
  const [usage, setUsage] = useState<Usage | null>(null);
  /** A message being edited: it and what followed it are hidden until the history shows the new branch. */
  const [cutAt, setCutAt] = useState<string | null>(null);
  const busy = useRef<Promise<void> | null>(null);
  /** What is on screen: an answer that has just ended is there before the history is fetched again. */
  const shown = useRef<ChatMessage[]>([]);
  const following = useRef<AbortController | null>(null);

  const follow = useCallback(
    (run: StoredRun) => {
      following.current?.abort();
      const controller = new AbortController();
      following.current = controller;
      setLive({ run, final: null, ended: false });
      setStatus('streaming');
      const guard =
        <A extends unknown[]>(fn: (...args: A) => void) =>
        (...args: A) => {
          if (!controller.signal.aborted) fn(...args);
        };
      const done = followRun({
        client,
        queryClient,
        memoryKey: trpc.agent.memory.queryOptions().queryKey,
        conversationsKey: trpc.chat.conversations.pathKey(),
        run,
        signal: controller.signal,
        save: (next) => writeJson(storage, runKey, next),
        onText: guard((next) => setLive((current) => (current ? { ...current, run: next } : current))),
        onEnd: guard((final, outcome) => {
          storage.removeItem(runKey);
          setLive((current) => (current ? { ...current, final, ended: true } : current));
          if (outcome.usage) setUsage(outcome.usage);
          setError(outcome.error ?? null);
          setStatus(outcome.error ? 'error' : 'idle');
          void queryClient.invalidateQueries({ queryKey: trpc.chat.history.queryKey(historyInput) });
          void queryClient.invalidateQueries({ queryKey: trpc.chat.conversations.pathKey() });
          void queryClient.invalidateQueries({ queryKey: trpc.user.pathKey() });
        }),
        onError: guard((failure) => {
          if (isHearthError(failure, 'NOT_FOUND')) storage.removeItem(runKey);
          setLive(null);
          setError(failure);
          setStatus('error');
          void queryClient.invalidateQueries({ queryKey: trpc.chat.history.queryKey(historyInput) });
        }),
      });
      return done;
    },
    [client, queryClient, storage, runKey, trpc, historyInput],
  );

  // On mount (and per conversation), pick up an answer left running by an earlier page.
  useEffect(() => {
    setPendingUser(null);
    setLive(null);
    setError(null);
    setStatus('idle');
    const stored = readJson<StoredRun>(storage, runKey);
    if (stored && client.session) void follow(stored);
    return () => {
      following.current?.abort();
      following.current = null;
    };
  }, [client, storage, runKey, follow]);

  /**
   * Starts a run through `request` (a send, a regenerate, an edit) and follows it. `pending` is the
   * user's message to show until the server has it. Only a send is tried again after a network
   * failure: its clientMessageId makes that safe.
   */
  const begin = useCallback(
    (request: () => Promise<SendResult>, pending: ChatMessage | null, retries: number): Promise<void> => {
      if (busy.current) return busy.current;
      if (following.current && !following.current.signal.aborted && status === 'streaming') return Promise.resolve();
      setPendingUser(pending);
      setLive(null);
      setError(null);
      setStatus('sending');
      const attempt = async (): Promise<void> => {
        for (let tries = 0; ; tries += 1) {
          try {
            const sent = await request();
            setPendingUser({ ...sent.userMessage, pending: false, siblingIds: [] });
            const run: StoredRun = {
              runId: sent.runId,
              conversationId: sent.conversationId,
              userMessageId: sent.userMessage.id,
              lastEventId: null,
              text: '',
            };
            writeJson(storage, runKey, run);
            void queryClient.invalidateQueries({ queryKey: trpc.chat.conversations.pathKey() });
            void follow(run);
            return;
          } catch (failure) {
            if (isHearthError(failure) || tries >= retries) {
              setPendingUser(null);
              setCutAt(null);
              setError(failure);
              setStatus('error');
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, 300 * (tries + 1)));
          }
        }
      };
      const started = attempt().finally(() => {
        busy.current = null;
      });
      busy.current = started;
      return started;
    },
    [follow, queryClient, runKey, status, storage, trpc],
  );

  const pendingMessage = useCallback(
    (id: string, text: string, parentId: string | null): ChatMessage => ({
      id: `pending:${id}`,
      conversationId: conversationId ?? '',
      parentId,
      role: 'user',
      content: text,
      status: 'complete',
      createdAt: new Date(),
      usage: null,
      pending: true,
      siblingIds: [],
    }),
    [conversationId],
  );

  const send = useCallback(
    (text: string, options: SendOptions = {}): Promise<void> => {
      const attachments = options.attachments?.length ? options.attachments : undefined;
      const clientMessageId = crypto.randomUUID();
      setCutAt(null);
      // Sent again after a network failure with the same clientMessageId, the server answers
      // with the first send's run rather than starting another.
      return begin(
        () =>
          client.chat.send.mutate({
            text,
            clientMessageId,
            ...(conversationId ? { conversationId } : {}),
            ...(attachments ? { attachments } : {}),
          }),
        {
          ...pendingMessage(clientMessageId, text, history.data?.messages.at(-1)?.id ?? null),
          ...(attachments
            ? {
                attachments: attachments.map((file, index) => ({
                  id: `pending:${clientMessageId}:${index}`,
                  name: file.name,
                  type: file.type,
                  size: Math.floor((file.data.length * 3) / 4),
                  kind: file.type.startsWith('image/') ? ('image' as const) : ('text' as const),
                  truncated: false,
                })),
              }
            : {}),
        },
        2,
      );
    },
    [begin, client, conversationId, history.data, pendingMessage],
  );

  const regenerate = useCallback(
    (messageId?: string): Promise<void> => {
      const target = messageId ?? shown.current.findLast((m) => m.role === 'assistant' && !m.pending)?.id;
      if (!target) return Promise.resolve();
      return begin(() => client.chat.regenerate.mutate({ messageId: target }), null, 0);
    },
    [begin, client],
  );

  const edit = useCallback(
    (messageId: string, text: string): Promise<void> => {
      const edited = history.data?.messages.find((m) => m.id === messageId);
      if (busy.current || status === 'streaming') return busy.current ?? Promise.resolve();
      // The edited message and what followed it leave the screen at once; the new branch replaces them.
      setCutAt(messageId);
      return begin(
        () => client.chat.editMessage.mutate({ messageId, text }),
        pendingMessage(crypto.randomUUID(), text, edited?.parentId ?? null),
        0,
      );
    },
    [begin, client, history.data, pendingMessage, status],
  );

  const switchBranch = useCallback(
    async (messageId: string): Promise<void> => {
      await client.chat.switchBranch.mutate({ messageId });
      // The last message sent and its answer may be on the branch left: the history alone says what is shown.
      setCutAt(null);
      setPendingUser(null);
      setLive(null);
      await queryClient.invalidateQueries({ queryKey: trpc.chat.history.queryKey(historyInput) });
    },
    [client, queryClient, trpc, historyInput],
  );

  const cancel = useCallback(async () => {
    const runId = live && !live.ended ? live.run.runId : null;
    if (runId) await client.chat.cancel.mutate({ runId });
  }, [client, live]);

  const messages = useMemo(() => {
    const stored = history.data?.messages ?? [];
    const answer = live ? liveMessage(live) : null;
    const out: ChatMessage[] = [];
    let afterUserMessage = false;
    for (const message of stored) {
      if (message.id === cutAt) break;
      if (live && message.id === live.run.userMessageId) {
        afterUserMessage = true;
        out.push({ ...message, pending: false });
        continue;
      }
      // After the message the live run answers, only its answer belongs: the server's copy of the
      // text so far (the live text is newer), or the answer a regenerate replaces, is left out.
      if (afterUserMessage && message.id !== answer?.id) continue;
      if (answer && message.id === answer.id) out.push({ ...answer, siblingIds: message.siblingIds });
      else out.push({ ...message, pending: false });
    }
    if (pendingUser && !out.some((m) => m.id === pendingUser.id)) out.push(pendingUser);
    if (answer && !out.some((m) => m.id === answer.id)) out.push(answer);
    return out;
  }, [history.data, live, pendingUser, cutAt]);
  useEffect(() => {
    shown.current = messages;
  }, [messages]);

  return {
    messages,
    send,
    regenerate,
    edit,
    switchBranch,
    cancel,
    status,
    error,
    usage,
    conversationId: conversationId ?? live?.run.conversationId ?? stored(history.data?.messages) ?? null,
    isLoadingHistory: history.isLoading,
  };
}

const stored = (messages: Message[] | undefined) => messages?.[0]?.conversationId;
