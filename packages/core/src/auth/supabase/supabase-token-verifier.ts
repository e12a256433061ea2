import { errors, type JWTPayload, jwtVerify } from 'jose';
import { AppError } from '../../domain/errors';
import { isUuid } from '../../domain/ids';
import type { Clock } from '../../ports/clock';
import { JwksCache } from './jwks-cache';

export interface SupabaseClaims {
  userId: string;
  /** Empty for users without one (phone sign-ups, anonymous users). */
  email: string;
  sessionId: string;
  isAnonymous: boolean;
  userMetadata: Record<string, unknown>;
}

export interface SupabaseTokenVerifierOptions {
  /** The project URL (SUPABASE_URL). */
  url: string;
  clock: Clock;
  /** A legacy project's HS256 secret; without it only ES256 and RS256 tokens are accepted. */
  legacySecret?: string | undefined;
}

const AUDIENCE = 'authenticated';

/**
 * Checks a Supabase access token without asking Supabase: the signature against the project's
 * published keys (ES256 or RS256, by kid) or, on a legacy project, its HS256 secret; then the
 * issuer, audience and expiry. supabase-js's own getClaims skips issuer and audience.
 */
export class SupabaseTokenVerifier {
  private readonly jwks: JwksCache;
  private readonly issuer: string;
  private readonly secret: Uint8Array | null;

  constructor(private readonly options: SupabaseTokenVerifierOptions) {
    this.issuer = `${options.url.replace(/\/+$/, '')}/auth/v1`;
    this.jwks = new JwksCache(`${this.issuer}/.well-known/jwks.json`, options.clock);
    this.secret = options.legacySecret ? new TextEncoder().encode(options.legacySecret) : null;
  }

  /** Throws UNAUTHENTICATED for any token Supabase did not issue for this project, or that has expired. */
  async verify(token: string): Promise<SupabaseClaims> {
    const secret = this.secret;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        // The algorithm is pinned by the list below before this runs, so a token cannot choose the secret.
        (header, input) => (header.alg === 'HS256' && secret ? secret : this.jwks.key(header, input)),
        {
          algorithms: secret ? ['ES256', 'RS256', 'HS256'] : ['ES256', 'RS256'],
          issuer: this.issuer,
          audience: AUDIENCE,
          currentDate: this.options.clock.now(),
          requiredClaims: ['sub', 'exp', 'session_id'],
        },
      ));
    } catch (error) {
      if (error instanceof AppError) throw error;
      const message =
        error instanceof errors.JWTExpired ? 'The access token has expired.' : 'The access token is not valid.';
      throw new AppError('UNAUTHENTICATED', message);
    }
    const { sub, email, session_id: sessionId, is_anonymous: isAnonymous, user_metadata: metadata } = payload;
    // Supabase's ids are UUIDs, and Hearth's users table keeps them in a uuid column.
    if (!isUuid(sub) || !isUuid(sessionId)) {
      throw new AppError('UNAUTHENTICATED', 'The access token is malformed.');
    }
    return {
      userId: sub,
      email: typeof email === 'string' ? email : '',
      sessionId,
      isAnonymous: isAnonymous === true,
      userMetadata: metadata && typeof metadata === 'object' ? (metadata as Record<string, unknown>) : {},
    };
  }
}
