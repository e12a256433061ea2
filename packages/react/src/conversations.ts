import type { Conversation } from '@hearth/sdk';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useHearth, useTRPC } from './context';

export interface UseConversationsResult {
  /** Most recently active first, every page loaded so far. */
  conversations: Conversation[];
  isLoading: boolean;
  error: unknown;
  hasMore: boolean;
  loadMore(): Promise<void>;
  create(title?: string): Promise<Conversation>;
  rename(conversationId: string, title: string): Promise<Conversation>;
  remove(conversationId: string): Promise<void>;
}

/** The user's conversations, paged back in time, with create, rename and delete. */
export function useConversations(options: { pageSize?: number } = {}): UseConversationsResult {
  const { client } = useHearth();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useInfiniteQuery(
    trpc.chat.conversations.infiniteQueryOptions(
      { limit: options.pageSize ?? 20 },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.chat.conversations.pathKey() });
  const create = useMutation({
    mutationFn: (title?: string) => client.chat.createConversation.mutate(title ? { title } : {}),
    onSuccess: refresh,
  });
  const rename = useMutation({
    mutationFn: (input: { conversationId: string; title: string }) => client.chat.renameConversation.mutate(input),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: async (conversationId: string) => {
      await client.chat.deleteConversation.mutate({ conversationId });
    },
    onSuccess: refresh,
  });
  return {
    conversations: list.data?.pages.flatMap((page) => page.conversations) ?? [],
    isLoading: list.isLoading,
    error: list.error,
    hasMore: list.hasNextPage,
    loadMore: async () => {
      await list.fetchNextPage();
    },
    create: create.mutateAsync,
    rename: (conversationId, title) => rename.mutateAsync({ conversationId, title }),
    remove: remove.mutateAsync,
  };
}
