import type { TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { isHearthError } from '../errors';
import type { SessionKeeper } from '../session-keeper';
import type { AppRouter, Session } from '../types';

const ISSUES_SESSION = new Set(['auth.login', 'auth.register', 'auth.refresh']);

/**
 * Keeps the SessionKeeper in step with the API: sessions returned by login, register and refresh
 * are stored, logout clears it, and a call refused as UNAUTHENTICATED is retried once after a refresh.
 */
export function sessionLink(keeper: SessionKeeper): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let retried = false;
        let unsubscribe: (() => void) | undefined;

        const attempt = () => {
          const subscription = next(op).subscribe({
            next(envelope) {
              const result = envelope.result;
              if (ISSUES_SESSION.has(op.path) && 'data' in result) {
                keeper.set((result.data as { session: Session }).session);
              }
              observer.next(envelope);
            },
            error(error) {
              const retryable =
                !retried &&
                op.type !== 'subscription' &&
                !ISSUES_SESSION.has(op.path) &&
                keeper.current !== null &&
                isHearthError(error, 'UNAUTHENTICATED');
              if (!retryable) {
                if (op.path === 'auth.logout') keeper.set(null);
                observer.error(error);
                return;
              }
              retried = true;
              keeper.refresh().then(
                (renewed) => (renewed ? attempt() : observer.error(error)),
                () => observer.error(error),
              );
            },
            complete() {
              if (op.path === 'auth.logout') keeper.set(null);
              observer.complete();
            },
          });
          unsubscribe = () => subscription.unsubscribe();
        };

        attempt();
        return () => unsubscribe?.();
      });
}
