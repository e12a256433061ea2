import { describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors';
import type { Session } from '../domain/session';
import type { AuthenticatedUser } from '../domain/user';
import type { AuthProvider } from '../ports/auth-provider';
import { systemClock } from '../ports/clock';
import type { Database } from '../store/database';
import { AccountGate } from './account-gate';
import type { AccountStatus } from './account-status';

const session: Session = {
  accessToken: 'new-access',
  refreshToken: 'new-refresh',
  tokenType: 'bearer',
  expiresAt: new Date(),
};
const caller: AuthenticatedUser = { id: 'u1', email: 'ada@example.com', role: 'user', sessionId: 's1' };
const client = { ip: '127.0.0.1', userAgent: null };

function gate(authenticate: AuthProvider['authenticate'], disabled: boolean) {
  const loggedOut: string[] = [];
  const inner: AuthProvider = {
    name: 'builtin',
    register: () => Promise.reject(new Error('not used')),
    login: () => Promise.reject(new Error('not used')),
    refresh: async () => ({ session }),
    logout: async (_caller, accessToken) => {
      loggedOut.push(accessToken);
    },
    authenticate,
  };
  const status = { isDisabled: async () => disabled, isListedAdmin: () => false } as unknown as AccountStatus;
  return { gate: new AccountGate(inner, status, {} as Database, systemClock), loggedOut };
}

describe('AccountGate.refresh', () => {
  it('answers the rotation when the same token, presented at once elsewhere, has already ended the session', async () => {
    const { gate: refreshed } = gate(() => Promise.reject(new AppError('SESSION_REVOKED', 'ended')), false);
    expect(await refreshed.refresh('old-refresh', client)).toEqual({ session });
  });

  it('refuses a disabled account and ends the session it was just given', async () => {
    const { gate: refreshed, loggedOut } = gate(async () => caller, true);
    await expect(refreshed.refresh('old-refresh', client)).rejects.toMatchObject({ appCode: 'FORBIDDEN' });
    expect(loggedOut).toEqual(['new-access']);
  });
});
