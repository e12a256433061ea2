import {
  type CryptoKey,
  createLocalJWKSet,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import { AppError } from '../../domain/errors';
import type { Clock } from '../../ports/clock';

/** Supabase's edge caches the JWKS for 10 minutes; keeping it longer would only delay a revocation. */
const MAX_AGE_MS = 600_000;
/** The least time between two fetches, so tokens naming made-up kids cannot make us hammer Supabase. */
const COOLDOWN_MS = 30_000;
const TIMEOUT_MS = 5_000;

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

/**
 * A project's public signing keys, fetched once and then served from memory: verifying a token costs
 * no network call. The set is fetched again when it is 10 minutes old, and early when a token
 * names a kid it does not hold (a key rotation), at most once per 30 s. If a fetch fails,
 * the keys already held stay in use. Times come from the Clock, so tests can move them.
 */
export class JwksCache {
  private keys: LocalKeySet | null = null;
  private kids = new Set<string>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;

  /** `url`: `<SUPABASE_URL>/auth/v1/.well-known/jwks.json` */
  constructor(
    private readonly url: string,
    private readonly clock: Clock,
  ) {}

  /** A key resolver for jose's jwtVerify. */
  readonly key = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    const now = this.clock.now().getTime();
    const unknownKid = header.kid !== undefined && !this.kids.has(header.kid);
    const due = now - this.fetchedAt >= MAX_AGE_MS || unknownKid;
    if (due && now - this.attemptedAt >= COOLDOWN_MS) await this.reload(now);
    if (!this.keys) {
      throw new AppError('UPSTREAM_UNAVAILABLE', "Supabase Auth's signing keys could not be fetched.", {
        retryable: true,
      });
    }
    return this.keys(header, token);
  };

  private reload(now: number): Promise<void> {
    this.loading ??= this.fetchKeys(now)
      .catch(() => {
        // Keep the keys we have: a Supabase outage must not sign everyone out.
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  private async fetchKeys(now: number): Promise<void> {
    this.attemptedAt = now;
    const response = await fetch(this.url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`the JWKS answered HTTP ${response.status}`);
    const set = (await response.json()) as JSONWebKeySet;
    this.keys = createLocalJWKSet(set);
    this.kids = new Set(set.keys.flatMap((key) => (key.kid ? [key.kid] : [])));
    this.fetchedAt = now;
  }
}
