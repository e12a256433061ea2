import { and, desc, eq, isNull, lt, or } from 'drizzle-orm';
import type { UserRole } from '../../domain/user';
import type { ApiKeyInfo } from '../../ports/api-keys';
import type { Database } from '../../store/database';
import { apiKeys, users } from '../../store/schema';

export interface StoredKey {
  id: string;
  userId: string;
  email: string;
  role: UserRole;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

const infoColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
  expiresAt: apiKeys.expiresAt,
};

/** The api_keys table: rows are found by the key's hash, through its unique index. */
export class ApiKeyStore {
  constructor(private readonly db: Database) {}

  async insert(row: {
    id: string;
    userId: string;
    name: string;
    prefix: string;
    keyHash: string;
    createdAt: Date;
    expiresAt: Date | null;
  }): Promise<ApiKeyInfo> {
    const [inserted] = await this.db.insert(apiKeys).values(row).returning(infoColumns);
    if (!inserted) throw new Error('insert returned no row');
    return inserted;
  }

  /** The user's keys that are not revoked, newest first (expired ones stay listed until revoked). */
  list(userId: string): Promise<ApiKeyInfo[]> {
    return this.db
      .select(infoColumns)
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
  }

  /** Whether a live key of this user was revoked now; false for anyone else's id or one revoked before. */
  async revoke(userId: string, id: string, at: Date): Promise<boolean> {
    const rows = await this.db
      .update(apiKeys)
      .set({ revokedAt: at })
      .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    return rows.length > 0;
  }

  async findByHash(keyHash: string): Promise<StoredKey | null> {
    const [row] = await this.db
      .select({
        id: apiKeys.id,
        userId: apiKeys.userId,
        email: users.email,
        role: users.role,
        expiresAt: apiKeys.expiresAt,
        revokedAt: apiKeys.revokedAt,
      })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(eq(apiKeys.keyHash, keyHash))
      .limit(1);
    return row ?? null;
  }

  /** Records a use unless one was recorded after `notBefore` (by this process or another). */
  async touch(id: string, at: Date, notBefore: Date): Promise<void> {
    await this.db
      .update(apiKeys)
      .set({ lastUsedAt: at })
      .where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, notBefore))));
  }
}
