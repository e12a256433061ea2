import type { RouterInputs, RouterOutputs } from '@hearth/sdk';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useHearth, useTRPC } from './context';

export type UsageReport = RouterOutputs['user']['usage'];
export type Budget = RouterOutputs['user']['budget'];
export type Health = RouterOutputs['user']['health'];

interface Loaded {
  isLoading: boolean;
  error: unknown;
  refetch(): Promise<unknown>;
}

/** Requests, tokens and cost, in total and per day or model (`groupBy`). Refreshed after each answer. */
export function useUsage(input: RouterInputs['user']['usage'] = {}): Loaded & { usage: UsageReport | null } {
  const trpc = useTRPC();
  const query = useQuery(trpc.user.usage.queryOptions(input));
  return { usage: query.data ?? null, isLoading: query.isLoading, error: query.error, refetch: query.refetch };
}

/** The spending limit and what is left of it; `setBudget` changes the limit or its period. */
export function useBudget(): Loaded & {
  budget: Budget | null;
  setBudget(input: RouterInputs['user']['setBudget']): Promise<Budget>;
} {
  const { client } = useHearth();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const query = useQuery(trpc.user.budget.queryOptions());
  const set = useMutation({
    mutationFn: (input: RouterInputs['user']['setBudget']) => client.user.setBudget.mutate(input),
    onSuccess: (budget) => {
      queryClient.setQueryData(trpc.user.budget.queryOptions().queryKey, budget);
      void queryClient.invalidateQueries({ queryKey: trpc.user.health.queryKey() });
    },
  });
  return {
    budget: query.data ?? null,
    isLoading: query.isLoading,
    error: query.error,
    refetch: query.refetch,
    setBudget: set.mutateAsync,
  };
}

/** The account's state: budget, agent, model, active runs. Polled every `refetchIntervalMs` if given. */
export function useHealth(options: { refetchIntervalMs?: number } = {}): Loaded & { health: Health | null } {
  const trpc = useTRPC();
  const query = useQuery({
    ...trpc.user.health.queryOptions(),
    ...(options.refetchIntervalMs ? { refetchInterval: options.refetchIntervalMs } : {}),
  });
  return { health: query.data ?? null, isLoading: query.isLoading, error: query.error, refetch: query.refetch };
}

/**
 * The account itself: `exportData()` fetches the caller's data (`user.exportData`, the JSON document
 * `UserExport`) as a Blob ready to save; `deleteAccount(password)` deletes the account for good
 * (`user.deleteAccount`) and then signs out here, so `useAuth()` reports `signedOut`.
 */
export function useAccount(): {
  exportData(): Promise<Blob>;
  deleteAccount(password: string): Promise<void>;
  isDeleting: boolean;
} {
  const { client } = useHearth();
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: async (password: string) => {
      await client.user.deleteAccount.mutate({ password });
      client.setSession(null);
      queryClient.removeQueries();
    },
  });
  return {
    exportData: async () => {
      const response = await client.user.exportData();
      return new Blob([await response.arrayBuffer()], { type: 'application/json' });
    },
    deleteAccount: remove.mutateAsync,
    isDeleting: remove.isPending,
  };
}
