import type { AppRouter, HearthClient } from '@hearth/sdk';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { createContext, useContext } from 'react';
import type { HearthStorage } from './storage';

const trpc = createTRPCContext<AppRouter>();

/** The tRPC options proxy (`trpc.chat.history.queryOptions(…)`) for anything the hooks do not wrap. */
export const useTRPC = trpc.useTRPC;
export const TRPCProvider = trpc.TRPCProvider;

export interface HearthContextValue {
  client: HearthClient;
  storage: HearthStorage;
  /** Prefix of every storage key the hooks write. */
  storageKey: string;
}

export const HearthContext = createContext<HearthContextValue | null>(null);

/** The client, storage and key prefix of the nearest HearthProvider. */
export function useHearth(): HearthContextValue {
  const value = useContext(HearthContext);
  if (!value) throw new Error('Hearth hooks must be used inside <HearthProvider>');
  return value;
}
