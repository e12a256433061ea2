import type { MemoryBlock, RouterInputs } from '@hearth/sdk';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useHearth, useTRPC } from './context';

export interface UseMemoryResult {
  /** The agent's memory blocks; refreshed when an answer reports `memory.updated`. */
  blocks: MemoryBlock[];
  isLoading: boolean;
  error: unknown;
  update(label: string, value: string): Promise<MemoryBlock>;
  /** Restores the default blocks (`memory`, the default), or also clears history (`all`). */
  reset(scope?: RouterInputs['agent']['reset']['scope']): Promise<void>;
}

export function useMemory(): UseMemoryResult {
  const { client } = useHearth();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const memory = useQuery(trpc.agent.memory.queryOptions());
  const key = trpc.agent.memory.queryOptions().queryKey;
  const update = useMutation({
    mutationFn: (input: { label: string; value: string }) => client.agent.updateMemory.mutate(input),
    onSuccess: async (block) => {
      // A refetch under way (after an answer's memory.updated) may hold the value from before.
      await queryClient.cancelQueries({ queryKey: key });
      queryClient.setQueryData(key, (old) =>
        old ? { blocks: old.blocks.map((b) => (b.label === block.label ? block : b)) } : old,
      );
    },
  });
  const reset = useMutation({
    mutationFn: async (scope: RouterInputs['agent']['reset']['scope']) => {
      await client.agent.reset.mutate({ scope });
    },
    onSuccess: () => queryClient.invalidateQueries(),
  });
  return {
    blocks: memory.data?.blocks ?? [],
    isLoading: memory.isLoading,
    error: memory.error,
    update: (label, value) => update.mutateAsync({ label, value }),
    reset: (scope = 'memory') => reset.mutateAsync(scope),
  };
}
