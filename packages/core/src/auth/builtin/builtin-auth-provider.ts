import { normalizeEmail } from '../../domain/email';
import { AppError } from '../../domain/errors';
import type { AuthResult, ClientInfo, Session } from '../../domain/session';
import type { AuthenticatedUser } from '../../domain/user';
import type { AuthProvider, LoginInput, RegisterInput } from '../../ports/auth-provider';
import type { Clock } from '../../ports/clock';
import type { Revocations } from '../../ports/revocations';
import type { AuthThrottle } from '../auth-throttle';
import { weakPasswordReason } from '../password-policy';
import type { AccessTokens } from './access-tokens';
import type { AuthStore } from './auth-store';
import { hashPassword, verifyAgainstDecoy, verifyPassword } from './password-hasher';
import { newRefreshToken } from './refresh-tokens';

export interface BuiltinAuthOptions {
  store: AuthStore;
  tokens: AccessTokens;
  throttle: AuthThrottle;
  clock: Clock;
  /** How long a session lives without being refreshed. */
  sessionTtlSeconds: number;
  /**
   * No other process writes the store (the embedded PGlite): every revocation is made here, so a
   * session found live is trusted until it expires instead of being checked again every few seconds.
   */
  soleWriter?: boolean;
  /** Tells the other processes of a session that ended here, and this one of theirs. */
  revocations?: Revocations;
}

const INVALID_CREDENTIALS = 'The email or password is incorrect.';

/**
 * How long a session found live is trusted without asking a shared store again. Revocations made by
 * this process apply at once; ones made by another process sharing the database, within this time.
 */
const SESSION_RECHECK_MS = 5_000;
const MAX_REMEMBERED_SESSIONS = 50_000;

interface LiveSession {
  userId: string;
  email: string;
  role: AuthenticatedUser['role'];
  recheckAt: number;
}

/** Email and password accounts kept in Hearth's own store. */
export class BuiltinAuthProvider implements AuthProvider {
  readonly name = 'builtin' as const;
  private readonly liveSessions = new Map<string, LiveSession>();

  constructor(private readonly options: BuiltinAuthOptions) {
    options.revocations?.subscribe((revocation) => {
      if (revocation.kind === 'session') this.liveSessions.delete(revocation.sessionId);
    });
  }

  async register(input: RegisterInput, client: ClientInfo): Promise<AuthResult> {
    const email = normalizeEmail(input.email);
    const weakness = weakPasswordReason(input.password, email);
    if (weakness) throw new AppError('WEAK_PASSWORD', weakness, { fieldErrors: { password: [weakness] } });
    return this.options.throttle.registration(client.ip, async () => {
      const user = await this.options.store.createUser({
        email,
        passwordHash: await hashPassword(input.password),
        displayName: input.displayName?.trim() || null,
      });
      if (!user) {
        throw new AppError('EMAIL_TAKEN', 'An account with this email already exists.', {
          fieldErrors: { email: ['An account with this email already exists.'] },
        });
      }
      return { user, session: await this.startSession(user.id, user.email, client) };
    });
  }

  async login(input: LoginInput, client: ClientInfo): Promise<AuthResult> {
    const email = normalizeEmail(input.email);
    const { throttle, store } = this.options;
    return throttle.login(email, client.ip, async () => {
      const found = await store.findCredentials(email);
      const valid = found
        ? await verifyPassword(found.passwordHash, input.password)
        : await verifyAgainstDecoy(input.password);
      if (!found || !valid) throw new AppError('INVALID_CREDENTIALS', INVALID_CREDENTIALS);
      return { user: found.user, session: await this.startSession(found.user.id, found.user.email, client) };
    });
  }

  async refresh(refreshToken: string): Promise<{ session: Session }> {
    const { store, clock } = this.options;
    const next = newRefreshToken();
    const now = clock.now();
    const outcome = await store.rotateRefreshToken(refreshToken, next, now);
    switch (outcome.kind) {
      case 'rotated': {
        const access = await this.options.tokens.issue(outcome);
        return { session: toSession(access, next) };
      }
      case 'reused':
        // A spent token coming back means it was copied: end the session for whoever holds it.
        await store.revokeSession(outcome.sessionId, 'refresh_token_reuse', now);
        this.ended(outcome.sessionId);
        throw new AppError('SESSION_REVOKED', 'This refresh token was already used; the session has been ended.');
      case 'revoked':
        throw new AppError('SESSION_REVOKED', 'This session has ended. Log in again.');
      case 'expired':
        throw new AppError('UNAUTHENTICATED', 'This session has expired. Log in again.');
      case 'unknown':
        throw new AppError('UNAUTHENTICATED', 'The refresh token is not valid.');
    }
  }

  async logout(caller: AuthenticatedUser): Promise<void> {
    await this.options.store.revokeSession(caller.sessionId, 'logout', this.options.clock.now());
    this.ended(caller.sessionId);
  }

  /** Forgets the session here and, through `revocations`, in every process that trusts it from memory. */
  private ended(sessionId: string): void {
    this.liveSessions.delete(sessionId);
    const tokensExpireAt = this.options.clock.now().getTime() + this.options.tokens.ttlSeconds * 1000;
    this.options.revocations?.publish({ kind: 'session', sessionId, tokensExpireAt });
  }

  async authenticate(accessToken: string): Promise<AuthenticatedUser> {
    const claims = await this.options.tokens.verify(accessToken);
    const now = this.options.clock.now();
    const known = this.liveSessions.get(claims.sessionId);
    if (known && known.userId === claims.userId && known.recheckAt > now.getTime()) {
      return { id: known.userId, email: known.email, role: known.role, sessionId: claims.sessionId };
    }
    // The signature proves who; the session row proves they have not logged out or been revoked since.
    const session = await this.options.store.findActiveSession(claims.sessionId, claims.userId, now);
    if (!session) {
      this.liveSessions.delete(claims.sessionId);
      throw new AppError('UNAUTHENTICATED', 'This session has ended. Log in again.');
    }
    if (this.liveSessions.size >= MAX_REMEMBERED_SESSIONS) this.liveSessions.clear();
    const recheckAt = this.options.soleWriter ? session.expiresAt.getTime() : now.getTime() + SESSION_RECHECK_MS;
    this.liveSessions.set(claims.sessionId, {
      userId: claims.userId,
      email: session.email,
      role: session.role,
      recheckAt,
    });
    return { id: claims.userId, email: session.email, role: session.role, sessionId: claims.sessionId };
  }

  private async startSession(userId: string, email: string, client: ClientInfo): Promise<Session> {
    const { store, tokens, clock, sessionTtlSeconds } = this.options;
    const refreshToken = newRefreshToken();
    const sessionId = await store.createSession({
      userId,
      refreshToken,
      expiresAt: new Date(clock.now().getTime() + sessionTtlSeconds * 1000),
      ip: client.ip,
      userAgent: client.userAgent,
    });
    const access = await tokens.issue({ userId, email, sessionId });
    return toSession(access, refreshToken);
  }
}

function toSession(access: { token: string; expiresAt: Date }, refreshToken: string): Session {
  return { accessToken: access.token, refreshToken, tokenType: 'bearer', expiresAt: access.expiresAt };
}
