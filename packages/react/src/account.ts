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
