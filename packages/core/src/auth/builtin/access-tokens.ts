import { errors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../../domain/errors';
import { isUuid } from '../../domain/ids';
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

/** Tokens kept verified; past it the memo starts over, which costs one signature check per token. */
const MAX_REMEMBERED_TOKENS = 10_000;

/**
 * Short-lived JWTs with the claims Supabase Auth puts in its own (sub, aud, role, email,
 * session_id), so code written against one verifies the other.
 */
export class AccessTokens {
  /**
   * A token is immutable, so once its signature checks out only its expiry can change the answer:
   * each request then costs a map lookup instead of an HMAC (a client sends the same token for minutes).
   */
  private readonly verified = new Map<string, { claims: AccessTokenClaims; expiresAtMs: number }>();

  constructor(private readonly options: AccessTokenOptions) {
    if (options.secret.byteLength < 32) throw new Error('The JWT signing key must be at least 32 bytes');
  }

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
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
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAtMs > this.options.clock.now().getTime()) return known.claims;
      this.verified.delete(token);
      throw new AppError('UNAUTHENTICATED', 'The access token has expired.');
    }
    const claims = await this.check(token);
    if (this.verified.size >= MAX_REMEMBERED_TOKENS) this.verified.clear();
    this.verified.set(token, claims);
    return claims.claims;
  }

  private async check(token: string): Promise<{ claims: AccessTokenClaims; expiresAtMs: number }> {
    try {
      const { payload } = await jwtVerify(token, this.options.secret, {
        algorithms: ['HS256'],
        issuer: this.options.issuer,
        audience: AUDIENCE,
        currentDate: this.options.clock.now(),
        requiredClaims: ['sub', 'exp', 'session_id'],
      });
      const { sub, email, session_id: sessionId, exp } = payload;
      // Well signed is not well formed: a token made with a leaked or shared key must not reach the
      // store's uuid columns with an id they cannot hold.
      if (!isUuid(sub) || typeof email !== 'string' || !isUuid(sessionId) || typeof exp !== 'number') {
        throw new AppError('UNAUTHENTICATED', 'The access token is malformed.');
      }
      return { claims: { userId: sub, email, sessionId }, expiresAtMs: exp * 1000 };
    } catch (error) {
      if (error instanceof AppError) throw error;
      const message =
        error instanceof errors.JWTExpired ? 'The access token has expired.' : 'The access token is not valid.';
      throw new AppError('UNAUTHENTICATED', message);
    }
  }
}
