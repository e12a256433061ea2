import { randomUUID } from 'node:crypto';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { User, UserRole } from '../../domain/user';
import type { Database } from '../../store/database';
import { isUniqueViolation } from '../../store/errors';
import { credentials, refreshTokens, sessions, users } from '../../store/schema';
import { toUser } from '../../users/user-row';
import { hashRefreshToken } from './refresh-tokens';

export type RevokeReason = 'logout' | 'refresh_token_reuse';

export type RotationOutcome =
  | { kind: 'rotated'; userId: string; email: string; sessionId: string }
  | { kind: 'unknown' }
  | { kind: 'reused'; sessionId: string }
  | { kind: 'revoked' }
  | { kind: 'expired' };

/** The built-in provider's tables: credentials, sessions and their refresh tokens. */
export class AuthStore {
  constructor(private readonly db: Database) {}

  /** Creates the user and their password; null when the email is already taken. */
  async createUser(input: { email: string; passwordHash: string; displayName: string | null }): Promise<User | null> {
    const id = randomUUID();
    try {
      return await this.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(users)
          .values({ id, email: input.email, displayName: input.displayName })
          .returning();
        await tx.insert(credentials).values({ userId: id, passwordHash: input.passwordHash });
        if (!row) throw new Error('insert returned no row');
        return toUser(row);
      });
    } catch (error) {
      if (isUniqueViolation(error)) return null;
      throw error;
    }
  }

  async findCredentials(email: string): Promise<{ user: User; passwordHash: string } | null> {
    const [row] = await this.db
      .select({ user: users, passwordHash: credentials.passwordHash })
      .from(users)
      .innerJoin(credentials, eq(credentials.userId, users.id))
      .where(eq(users.email, email))
      .limit(1);
    return row ? { user: toUser(row.user), passwordHash: row.passwordHash } : null;
  }

  async createSession(input: {
    userId: string;
    refreshToken: string;
    expiresAt: Date;
    ip: string;
    userAgent: string | null;
  }): Promise<string> {
    const sessionId = randomUUID();
    await this.db.transaction(async (tx) => {
      await tx.insert(sessions).values({
        id: sessionId,
        userId: input.userId,
        expiresAt: input.expiresAt,
        ip: input.ip,
        userAgent: input.userAgent?.slice(0, 512) ?? null,
      });
      await tx.insert(refreshTokens).values({ tokenHash: hashRefreshToken(input.refreshToken), sessionId });
    });
    return sessionId;
  }

  /**
   * Spends `presented` and records `next` in its place. The conditional update is what makes a
   * token single-use even when two requests present it at the same moment: only one sees a row.
   */
  async rotateRefreshToken(presented: string, next: string, now: Date): Promise<RotationOutcome> {
    return this.db.transaction(async (tx) => {
      const [found] = await tx
        .select({
          sessionId: refreshTokens.sessionId,
          usedAt: refreshTokens.usedAt,
          revokedAt: sessions.revokedAt,
          expiresAt: sessions.expiresAt,
          userId: users.id,
          email: users.email,
        })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(eq(refreshTokens.tokenHash, hashRefreshToken(presented)))
        .limit(1);
      if (!found) return { kind: 'unknown' };
      if (found.revokedAt) return { kind: 'revoked' };
      if (found.expiresAt <= now) return { kind: 'expired' };
      const spent = await tx
        .update(refreshTokens)
        .set({ usedAt: now })
        .where(and(eq(refreshTokens.tokenHash, hashRefreshToken(presented)), isNull(refreshTokens.usedAt)))
        .returning({ sessionId: refreshTokens.sessionId });
      if (spent.length === 0) return { kind: 'reused', sessionId: found.sessionId };
      await tx.insert(refreshTokens).values({ tokenHash: hashRefreshToken(next), sessionId: found.sessionId });
      await tx.update(sessions).set({ refreshedAt: now }).where(eq(sessions.id, found.sessionId));
      return { kind: 'rotated', userId: found.userId, email: found.email, sessionId: found.sessionId };
    });
  }

  async revokeSession(sessionId: string, reason: RevokeReason, now: Date): Promise<void> {
    await this.db
      .update(sessions)
      .set({ revokedAt: now, revokedReason: reason })
      .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)));
  }

  /** The user behind a live session, or null if it was revoked, expired or belongs to someone else. */
  async findActiveSession(
    sessionId: string,
    userId: string,
    now: Date,
  ): Promise<{ email: string; role: UserRole; expiresAt: Date } | null> {
    const [row] = await this.db
      .select({ email: users.email, role: users.role, expiresAt: sessions.expiresAt })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(
        and(
          eq(sessions.id, sessionId),
          eq(sessions.userId, userId),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, now),
        ),
      )
      .limit(1);
    return row ?? null;
  }
}
