import { errors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../../domain/errors';
import type { Clock } from '../../ports/clock';

export interface AccessTokenClaims {
  userId: string;
  email: string;
  sessionId: string;
}

export interface AccessTokenOptions {
  /** HS256 key: at least 32 bytes. */
  secret: Uint8Array;
  issuer: string;
  ttlSeconds: number;
  clock: Clock;
}

const AUDIENCE = 'authenticated';

/**
 * Short-lived JWTs with the claims Supabase Auth puts in its own (sub, aud, role, email,
 * session_id), so code written against one verifies the other.
 */
export class AccessTokens {
  constructor(private readonly options: AccessTokenOptions) {
    if (options.secret.byteLength < 32) throw new Error('The JWT signing key must be at least 32 bytes');
  }

  async issue(claims: AccessTokenClaims): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = Math.floor(this.options.clock.now().getTime() / 1000);
    const expiresAtSeconds = issuedAt + this.options.ttlSeconds;
    const token = await new SignJWT({
      email: claims.email,
      role: 'authenticated',
      session_id: claims.sessionId,
      aal: 'aal1',
      is_anonymous: false,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setAudience(AUDIENCE)
      .setIssuer(this.options.issuer)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAtSeconds)
      .sign(this.options.secret);
    return { token, expiresAt: new Date(expiresAtSeconds * 1000) };
  }

  /** Throws UNAUTHENTICATED for anything but a well-signed, current token meant for us. */
  async verify(token: string): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.options.secret, {
        algorithms: ['HS256'],
        issuer: this.options.issuer,
        audience: AUDIENCE,
        currentDate: this.options.clock.now(),
        requiredClaims: ['sub', 'exp', 'session_id'],
      });
      const { sub, email, session_id: sessionId } = payload;
      if (typeof sub !== 'string' || typeof email !== 'string' || typeof sessionId !== 'string') {
        throw new AppError('UNAUTHENTICATED', 'The access token is malformed.');
      }
      return { userId: sub, email, sessionId };
    } catch (error) {
      if (error instanceof AppError) throw error;
      const message =
        error instanceof errors.JWTExpired ? 'The access token has expired.' : 'The access token is not valid.';
      throw new AppError('UNAUTHENTICATED', message);
    }
  }
}
