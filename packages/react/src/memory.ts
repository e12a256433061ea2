import type { MemoryBlock, MemoryVersion, RouterInputs } from '@hearth/sdk';
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

export interface UseMemoryHistoryResult {
  /** The values the block (or every block) has had, newest first. */
  versions: MemoryVersion[];
  /** More, older versions exist than were loaded. */
  hasMore: boolean;
  isLoading: boolean;
  error: unknown;
  refetch(): Promise<unknown>;
  /**
   * Writes that version's value again, as a new version by the user (`agent.revertMemory`): to undo a
   * change, pass the version before it. The block in `useMemory()` and this history update.
   */
  revert(versionId: string): Promise<MemoryBlock>;
}

/** The history of the memory blocks (`agent.memoryHistory`), or of the one labelled `label`. */
export function useMemoryHistory(
  options: { label?: string; limit?: number; enabled?: boolean } = {},
): UseMemoryHistoryResult {
  const { client } = useHearth();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = {
    ...(options.label === undefined ? {} : { label: options.label }),
    limit: options.limit ?? 50,
  };
  const history = useQuery({ ...trpc.agent.memoryHistory.queryOptions(input), enabled: options.enabled ?? true });
  const memoryKey = trpc.agent.memory.queryOptions().queryKey;
  const revert = useMutation({
    mutationFn: (versionId: string) => client.agent.revertMemory.mutate({ versionId }),
    onSuccess: async ({ block }) => {
      await queryClient.cancelQueries({ queryKey: memoryKey });
      queryClient.setQueryData(memoryKey, (old) =>
        old ? { blocks: old.blocks.map((b) => (b.label === block.label ? block : b)) } : old,
      );
      await queryClient.invalidateQueries({ queryKey: trpc.agent.memoryHistory.pathKey() });
    },
  });
  return {
    versions: history.data?.versions ?? [],
    hasMore: (history.data?.nextCursor ?? null) !== null,
    isLoading: history.isLoading,
    error: history.error,
    refetch: history.refetch,
    revert: async (versionId) => (await revert.mutateAsync(versionId)).block,
  };
}
