import {
  AccessTokens,
  type AuthProvider,
  AuthStore,
  type AuthThrottle,
  BuiltinAuthProvider,
  type Clock,
  createSupabaseAuthProvider,
  type Revocations,
  resolveSigningKey,
  type Store,
  SupabaseTokenVerifier,
  SupabaseUsers,
} from '@hearth/core';
import { type Config, redactUrls } from './config';

export interface ConfiguredAuth {
  provider: AuthProvider;
  /** The upstream /readyz must check, if any. */
  readiness: { name: string; check(): Promise<void> } | null;
  /** For the start-up line. */
  description: string;
}

/** The auth provider AUTH_PROVIDER names, built from its settings. */
export async function authFor(
  config: Config,
  deps: { store: Store; clock: Clock; throttle: AuthThrottle; revocations: Revocations | null },
): Promise<ConfiguredAuth> {
  const { store, clock, throttle } = deps;
  const revocations = deps.revocations ? { revocations: deps.revocations } : {};
  // The config schema requires both when AUTH_PROVIDER=supabase; this narrows their types.
  if (config.AUTH_PROVIDER === 'supabase' && config.SUPABASE_URL && config.SUPABASE_ANON_KEY) {
    const supabase = await createSupabaseAuthProvider({
      url: config.SUPABASE_URL,
      anonKey: config.SUPABASE_ANON_KEY,
      verifier: new SupabaseTokenVerifier({
        url: config.SUPABASE_URL,
        clock,
        legacySecret: config.SUPABASE_JWT_SECRET,
      }),
      users: new SupabaseUsers(store.db, clock),
      throttle,
      clock,
      ...revocations,
    });
    const keys = config.SUPABASE_JWT_SECRET ? 'its JWKS and the legacy SUPABASE_JWT_SECRET' : 'its JWKS';
    return {
      provider: supabase,
      readiness: { name: 'supabase-auth', check: () => supabase.ping() },
      description: `auth: Supabase Auth at ${redactUrls(config.SUPABASE_URL)}, tokens checked against ${keys}`,
    };
  }

  const signingKey = resolveSigningKey(config.JWT_SECRET, config.dataDir);
  const builtin = new BuiltinAuthProvider({
    store: new AuthStore(store.db),
    tokens: new AccessTokens({
      secret: signingKey.key,
      issuer: config.JWT_ISSUER,
      ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
      clock,
    }),
    throttle,
    clock,
    sessionTtlSeconds: config.SESSION_TTL_DAYS * 86_400,
    soleWriter: store.kind !== 'postgres',
    ...revocations,
  });
  const key = {
    config: 'JWT_SECRET',
    'data-dir': `the key kept in ${config.dataDir}`,
    generated: `a new key kept in ${config.dataDir}`,
  }[signingKey.source];
  return { provider: builtin, readiness: null, description: `tokens signed with ${key}` };
}
