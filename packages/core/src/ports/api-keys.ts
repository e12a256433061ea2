import type { AuthenticatedUser } from '../domain/user';

/** What a user sees of one of their API keys: never the key itself, which is shown once, at creation. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  /** The key's first characters, to tell keys apart in a list. */
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
}

export interface CreatedApiKey extends ApiKeyInfo {
  /** The whole key (`hth_…`): returned this once and never stored. */
  key: string;
}

/** Personal API keys: long-lived credentials for server-to-server callers, acting as their user. */
export interface ApiKeyOperations {
  /** FORBIDDEN when the caller is itself an API key: a stolen key must not mint more. */
  create(caller: AuthenticatedUser, input: { name: string; expiresAt?: Date | undefined }): Promise<CreatedApiKey>;
  list(caller: AuthenticatedUser): Promise<{ apiKeys: ApiKeyInfo[] }>;
  /** NOT_FOUND for an id that is not one of the caller's keys. */
  revoke(caller: AuthenticatedUser, id: string): Promise<void>;
  /** Resolves a key to its user; UNAUTHENTICATED when it is unknown, revoked or expired. */
  authenticate(key: string): Promise<AuthenticatedUser>;
}
