import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../../domain/errors';
import type { AuthenticatedUser } from '../../domain/user';
import type { ApiKeyInfo, ApiKeyOperations, CreatedApiKey } from '../../ports/api-keys';
import type { Clock } from '../../ports/clock';
import type { ApiKeyStore } from './api-key-store';

export const API_KEY_PREFIX = 'hth_';
/** `hth_` and 32 random bytes in base64url (43 characters). */
const KEY_SHAPE = /^hth_[A-Za-z0-9_-]{43}$/;
/** What is kept to show a key in a list: `hth_` and 8 characters, 48 of its 256 bits. */
const DISPLAY_PREFIX_LENGTH = 12;
/** lastUsedAt is written at most this often per key: a busy key must not cost a write per request. */
const TOUCH_INTERVAL_MS = 60_000;

export function isApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

/**
 * SHA-256, not argon2: a key is 256 random bits, so there is no dictionary to slow down, and a fast
 * hash lets each request find its key through the unique index on the hash.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

const unauthenticated = (why: string) => new AppError('UNAUTHENTICATED', why);

export class ApiKeyService implements ApiKeyOperations {
  /** Key id → when this process last wrote its lastUsedAt. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: ApiKeyStore,
    private readonly clock: Clock,
  ) {}

  async create(
    caller: AuthenticatedUser,
    input: { name: string; expiresAt?: Date | undefined },
  ): Promise<CreatedApiKey> {
    if (caller.apiKeyId) {
      throw new AppError('FORBIDDEN', 'An API key cannot create API keys: sign in with your password to create one.');
    }
    const now = this.clock.now();
    if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
      throw new AppError('INVALID_INPUT', 'Some fields are not valid.', {
        fieldErrors: { expiresAt: ['An expiry must be in the future.'] },
      });
    }
    const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    const info = await this.store.insert({
      id: randomUUID(),
      userId: caller.id,
      name: input.name,
      prefix: key.slice(0, DISPLAY_PREFIX_LENGTH),
      keyHash: hashApiKey(key),
      createdAt: now,
      expiresAt: input.expiresAt ?? null,
    });
    return { ...info, key };
  }

  async list(caller: AuthenticatedUser): Promise<{ apiKeys: ApiKeyInfo[] }> {
    return { apiKeys: await this.store.list(caller.id) };
  }

  async revoke(caller: AuthenticatedUser, id: string): Promise<void> {
    if (!(await this.store.revoke(caller.id, id, this.clock.now()))) {
      throw new AppError('NOT_FOUND', 'No such API key.');
    }
    this.touched.delete(id);
  }

  /** Read from the store on every request, never cached: a revoked or expired key stops at once. */
  async authenticate(key: string): Promise<AuthenticatedUser> {
    if (!KEY_SHAPE.test(key)) throw unauthenticated('This API key is not valid.');
    const found = await this.store.findByHash(hashApiKey(key));
    if (!found) throw unauthenticated('This API key is not valid.');
    const now = this.clock.now();
    if (found.revokedAt) throw unauthenticated('This API key has been revoked.');
    if (found.expiresAt && found.expiresAt.getTime() <= now.getTime()) {
      throw unauthenticated('This API key has expired.');
    }
    await this.touch(found.id, now);
    return { id: found.userId, email: found.email, role: found.role, sessionId: found.id, apiKeyId: found.id };
  }

  private async touch(id: string, now: Date): Promise<void> {
    const last = this.touched.get(id);
    if (last !== undefined && now.getTime() - last < TOUCH_INTERVAL_MS) return;
    // Bounded by the keys in use within a minute; past that, forgetting only costs a conditional update.
    if (this.touched.size > 10_000) this.touched.clear();
    this.touched.set(id, now.getTime());
    await this.store.touch(id, now, new Date(now.getTime() - TOUCH_INTERVAL_MS));
  }
}
