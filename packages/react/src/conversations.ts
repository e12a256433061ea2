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
  /** A new conversation; `model` (one of `chat.models`) is what it answers with, the server's default otherwise. */
  create(title?: string, model?: string): Promise<Conversation>;
  /** Chooses the model a conversation answers with; null: the server's default. */
  setModel(conversationId: string, model: string | null): Promise<Conversation>;
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
    mutationFn: (input: { title?: string | undefined; model?: string | undefined }) =>
      client.chat.createConversation.mutate({
        ...(input.title ? { title: input.title } : {}),
        ...(input.model ? { model: input.model } : {}),
      }),
    onSuccess: refresh,
  });
  const setModel = useMutation({
    mutationFn: (input: { conversationId: string; model: string | null }) =>
      client.chat.setConversationModel.mutate(input),
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
    create: (title, model) => create.mutateAsync({ title, model }),
    setModel: (conversationId, model) => setModel.mutateAsync({ conversationId, model }),
    rename: (conversationId, title) => rename.mutateAsync({ conversationId, title }),
    remove: remove.mutateAsync,
  };
}
