import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from '@trpc/client';
import { EventSource as FetchEventSource } from 'eventsource';
import superjson from 'superjson';
import { isHearthError } from './errors';
import { exportData } from './export-data';
import { sessionLink } from './links/session-link';
import { type StreamRunOptions, streamRun } from './run-stream';
import { SessionKeeper, type SessionListener, type StoredSession } from './session-keeper';
import type { AppRouter, Session, TrackedRunEvent } from './types';

type FetchFn = typeof globalThis.fetch;

/** What the SDK needs of an EventSource instance: the browser's own has all of it. */
export interface EventSourceInstance {
  readonly CLOSED: number;
  readonly CONNECTING: number;
  readonly OPEN: number;
  readonly readyState: number;
  addEventListener(type: string, listener: (event: object) => void): void;
  removeEventListener(type: string, listener: (event: object) => void): void;
  close(): void;
}

/** Any EventSource class, such as `globalThis.EventSource` in a browser. */
export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceInstance;

export interface HearthClientOptions {
  /** Where the server is, e.g. `http://localhost:8787`. */
  url: string;
  /**
   * A session saved earlier (see `onSessionChange`), to start signed in. Straight from
   * `JSON.parse` is fine: `expiresAt` may be an ISO string.
   */
  session?: StoredSession | null;
  /** Called whenever the session is issued, renewed or ended: persist it here if you like. */
  onSessionChange?: SessionListener;
  /** Renew the access token when it has less than this left. Default 60 seconds. */
  refreshMarginMs?: number;
  /**
   * A personal API key (`hth_…`, from `auth.createApiKey`), sent as the bearer token of every call
   * instead of a session: nothing is refreshed, and the key cannot create keys or log out.
   */
  apiKey?: string;
  /** Headers sent with every call (not with subscriptions in browsers' native EventSource). */
  headers?: Record<string, string>;
  fetch?: FetchFn;
  /**
   * Leave unset to stream with Hearth's fetch-based EventSource, which sends the Authorization
   * header in Node and in browsers. Pass the browser's own `EventSource` to use it instead; the
   * token then travels as a connection parameter in the URL.
   */
  EventSource?: EventSourceConstructor;
}

type Routers = Pick<TRPCClient<AppRouter>, 'auth' | 'chat' | 'agent' | 'admin'>;

export interface HearthClient extends Routers {
  /**
   * `user.*` procedures, and `user.exportData()`: the caller's data as one JSON document, streamed
   * (a `Response` to read with `.json()` or to pipe from `.body`).
   */
  readonly user: TRPCClient<AppRouter>['user'] & { exportData(): Promise<Response> };
  /** The raw tRPC client, for anything the SDK does not wrap. */
  readonly trpc: TRPCClient<AppRouter>;
  /** The current session, or null when signed out. */
  readonly session: Session | null;
  /** Signs in with a saved session (`expiresAt` a Date or an ISO string), or signs out locally with null. */
  setSession(session: StoredSession | null): void;
  /** Subscribes to session changes; returns the unsubscribe function. */
  onSessionChange(listener: SessionListener): () => void;
  /** A run's events (`chat.events`) as an async iterable that ends after the terminal event. */
  streamRun(runId: string, options?: StreamRunOptions): AsyncGenerator<TrackedRunEvent>;
}

/**
 * The server answers a subscription it refuses before streaming (a run that is not the caller's,
 * bad input, no session) with a plain HTTP error and tRPC's JSON error body. An EventSource sees
 * only "not 200"; handed on as the error event tRPC's link reads, it becomes a typed HearthError
 * (NOT_FOUND and the like are not retried).
 */
async function asErrorEvent(response: Response): Promise<Response> {
  if (response.ok || !response.headers.get('content-type')?.startsWith('application/json')) return response;
  const text = await response.text();
  let body: { error?: unknown } | null = null;
  try {
    body = JSON.parse(text) as { error?: unknown } | null;
  } catch {
    // Not tRPC's error body: the EventSource reports the status as it is.
  }
  if (!body?.error) return new Response(text, { status: response.status, headers: response.headers });
  return new Response(`event: serialized-error\ndata: ${JSON.stringify(body.error)}\n\n`, {
    status: 200,
    headers: { 'content-type': 'text/event-stream' },
  });
}

const PERMANENT_REFRESH_FAILURES = ['UNAUTHENTICATED', 'SESSION_REVOKED', 'INVALID_INPUT'] as const;

/**
 * The typed Hearth client. It holds the session: access tokens are renewed before they expire,
 * and a call refused as UNAUTHENTICATED is retried once after a refresh.
 *
 * ```ts
 * const hearth = createHearthClient({ url: 'http://localhost:8787' });
 * await hearth.auth.register.mutate({ email, password });
 * const me = await hearth.auth.me.query();
 * ```
 */
export function createHearthClient(options: HearthClientOptions): HearthClient {
  const url = `${options.url.replace(/\/+$/, '')}/trpc`;
  const fetchFn: FetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  const refresher = createTRPCClient<AppRouter>({
    links: [httpLink({ url, transformer: superjson, fetch: fetchFn, headers: () => options.headers ?? {} })],
  });
  const keeper = new SessionKeeper(
    options.session ?? null,
    async (refreshToken) => (await refresher.auth.refresh.mutate({ refreshToken })).session,
    options.refreshMarginMs ?? 60_000,
    (error) => PERMANENT_REFRESH_FAILURES.some((code) => isHearthError(error, code)),
  );
  if (options.onSessionChange) keeper.subscribe(options.onSessionChange);

  const bearer = async (): Promise<string | null> => options.apiKey ?? (await keeper.accessToken());
  const authHeaders = async (): Promise<Record<string, string>> => {
    const token = await bearer();
    return { ...options.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) };
  };

  const nativeEventSource = options.EventSource;
  const subscriptions = nativeEventSource
    ? httpSubscriptionLink({
        url,
        transformer: superjson,
        EventSource: nativeEventSource,
        connectionParams: async () => {
          const token = await bearer();
          return token ? { token } : null;
        },
      })
    : httpSubscriptionLink({
        url,
        transformer: superjson,
        EventSource: FetchEventSource,
        eventSourceOptions: async () => {
          const headers = await authHeaders();
          return {
            fetch: async (input, init) =>
              asErrorEvent(await fetchFn(input, { ...init, headers: { ...init?.headers, ...headers } })),
          };
        },
      });

  const trpc = createTRPCClient<AppRouter>({
    links: [
      sessionLink(keeper),
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: subscriptions,
        // Mutations are sent at once (a chat message's time to first token starts here); queries
        // issued together are batched into one request, which waits a timer tick to gather them.
        false: splitLink({
          condition: (op) => op.type === 'mutation',
          true: httpLink({ url, transformer: superjson, fetch: fetchFn, headers: authHeaders }),
          // The server refuses a batch of more than 10 calls whole (the API package's MAX_BATCH_SIZE).
          false: httpBatchLink({ url, transformer: superjson, fetch: fetchFn, headers: authHeaders, maxItems: 10 }),
        }),
      }),
    ],
  });

  return {
    trpc,
    auth: trpc.auth,
    // tRPC's client is a proxy, so the one call it does not make is added in front of it.
    user: new Proxy(trpc.user, {
      get: (target, key, receiver) =>
        key === 'exportData'
          ? () => exportData(options.url.replace(/\/+$/, ''), fetchFn, authHeaders)
          : Reflect.get(target, key, receiver),
    }) as HearthClient['user'],
    chat: trpc.chat,
    agent: trpc.agent,
    /** Operators only (role `admin`); FORBIDDEN for everyone else. */
    admin: trpc.admin,
    get session() {
      return keeper.current;
    },
    setSession: (session) => keeper.set(session),
    onSessionChange: (listener) => keeper.subscribe(listener),
    streamRun: (runId, streamOptions) => streamRun(trpc, runId, streamOptions),
  };
}
