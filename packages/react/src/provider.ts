import { createHearthClient, type HearthClient, isHearthError, type StoredSession } from '@hearth/sdk';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createElement, type ReactNode, useEffect, useMemo, useState } from 'react';
import { HearthContext, type HearthContextValue, TRPCProvider } from './context';
import { defaultStorage, type HearthStorage, readJson, writeJson } from './storage';

export interface HearthProviderProps {
  /** A client of your own; or give `url` and the provider makes one. */
  client?: HearthClient;
  /** The server, e.g. `http://localhost:8787` (when no `client` is given). */
  url?: string;
  /** A QueryClient of your own; by default one is made. */
  queryClient?: QueryClient;
  /** Where the session and running answers are kept. Default `localStorage` (memory where none). */
  storage?: HearthStorage;
  /** Prefix of the storage keys. Default `hearth`. */
  storageKey?: string;
  children?: ReactNode;
}

export const sessionKey = (prefix: string) => `${prefix}.session`;

function defaultQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // The API's own errors (NOT_FOUND, UNAUTHENTICATED, …) will not change on a second try.
        retry: (failures, error) => !isHearthError(error) && failures < 2,
      },
    },
  });
}

/**
 * Gives the hooks a Hearth client, a QueryClient and storage. The session is restored from storage
 * on start and written back whenever it changes, so a reload stays signed in.
 */
export function HearthProvider(props: HearthProviderProps) {
  const { storageKey = 'hearth' } = props;
  const [storage] = useState(() => props.storage ?? defaultStorage());
  const [client] = useState(() => {
    const saved = readJson<StoredSession>(storage, sessionKey(storageKey));
    if (props.client) {
      if (!props.client.session && saved) props.client.setSession(saved);
      return props.client;
    }
    if (!props.url) throw new Error('<HearthProvider> needs a `client` or a `url`');
    return createHearthClient({ url: props.url, session: saved });
  });
  const [queryClient] = useState(() => props.queryClient ?? defaultQueryClient());

  useEffect(
    () =>
      client.onSessionChange((session) => {
        if (session) writeJson(storage, sessionKey(storageKey), session);
        else storage.removeItem(sessionKey(storageKey));
      }),
    [client, storage, storageKey],
  );

  const value = useMemo<HearthContextValue>(() => ({ client, storage, storageKey }), [client, storage, storageKey]);
  return createElement(
    QueryClientProvider,
    { client: queryClient },
    createElement(TRPCProvider, {
      trpcClient: client.trpc,
      queryClient,
      // biome-ignore lint/correctness/noChildrenProp: TRPCProvider's props type requires children
      children: createElement(HearthContext.Provider, { value }, props.children),
    }),
  );
}
