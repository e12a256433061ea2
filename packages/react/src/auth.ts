import type { AuthResult, RouterInputs, Session, User } from '@hearth/sdk';
import { partialMatchKey, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useSyncExternalStore } from 'react';
import { useHearth, useTRPC } from './context';

export type AuthStatus = 'loading' | 'signedIn' | 'signedOut';

export interface UseAuthResult {
  /** The signed-in user, once `auth.me` has answered. */
  user: User | null;
  session: Session | null;
  /** `loading` while a saved session is being checked. */
  status: AuthStatus;
  /** The last failure of register, login or logout (an `isHearthError` with its appCode). */
  error: unknown;
  /** A register, login or logout is under way. */
  isPending: boolean;
  register(input: RouterInputs['auth']['register']): Promise<AuthResult>;
  login(input: RouterInputs['auth']['login']): Promise<AuthResult>;
  logout(): Promise<void>;
}

/** The client's session, re-rendering when it is issued, renewed or ended. */
export function useSession(): Session | null {
  const { client } = useHearth();
  return useSyncExternalStore(
    client.onSessionChange,
    () => client.session,
    () => client.session,
  );
}

/** Sign-up, sign-in and sign-out, and who is signed in. */
export function useAuth(): UseAuthResult {
  const { client } = useHearth();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const session = useSession();
  const me = useQuery({ ...trpc.auth.me.queryOptions(), enabled: session !== null });

  const signedIn = useCallback(
    (result: AuthResult) => {
      // Whatever was cached belonged to whoever was signed in before. Reset, not removed: a hook
      // still showing a removed query would wait on it forever; a reset one refetches as the new user.
      const meKey = trpc.auth.me.queryOptions().queryKey;
      queryClient.setQueryData(meKey, result.user);
      void queryClient.resetQueries({ predicate: (query) => !partialMatchKey(query.queryKey, meKey) });
      return result;
    },
    [queryClient, trpc],
  );
  const register = useMutation({
    mutationFn: async (input: RouterInputs['auth']['register']) => signedIn(await client.auth.register.mutate(input)),
  });
  const login = useMutation({
    mutationFn: async (input: RouterInputs['auth']['login']) => signedIn(await client.auth.login.mutate(input)),
  });
  const logout = useMutation({
    mutationFn: async () => {
      try {
        await client.auth.logout.mutate({});
      } finally {
        // Signed out here even when the server could not be told (it ends the session on expiry).
        client.setSession(null);
        queryClient.removeQueries();
      }
    },
  });

  const status: AuthStatus = session === null ? 'signedOut' : me.data ? 'signedIn' : 'loading';
  return {
    user: session ? (me.data ?? null) : null,
    session,
    status,
    error: register.error ?? login.error ?? logout.error ?? null,
    isPending: register.isPending || login.isPending || logout.isPending,
    register: register.mutateAsync,
    login: login.mutateAsync,
    logout: logout.mutateAsync,
  };
}
