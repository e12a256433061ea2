import { and, eq, ne, sql } from 'drizzle-orm';
import { normalizeEmail } from '../../domain/email';
import type { User } from '../../domain/user';
import type { Clock } from '../../ports/clock';
import type { Database } from '../../store/database';
import { isUniqueViolation } from '../../store/errors';
import { users } from '../../store/schema';
import { toUser } from '../../users/user-row';

/** A Supabase user as Supabase describes them (from a session or an access token). */
export interface SupabaseIdentity {
  id: string;
  email: string;
  /** Used only when Hearth first meets the user; after that `user.updateProfile` owns it. */
  displayName: string | null;
}

/**
 * How long a user seen in this process is trusted without a statement: role changes made in the
 * table reach a running process within this time.
 */
const RECHECK_MS = 60_000;
const MAX_REMEMBERED = 50_000;

/**
 * Keeps a `users` row for every Supabase user (same id), since every Hearth table references
 * `users(id)`: created when Hearth first meets them, whether they signed up through Hearth or were
 * made in the Supabase dashboard, and given Supabase's email when it changes there.
 */
export class SupabaseUsers {
  private readonly seen = new Map<string, { user: User; recheckAt: number }>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** The row for `identity`, from memory when it was brought up to date recently. */
  async resolve(identity: SupabaseIdentity): Promise<User> {
    const known = this.seen.get(identity.id);
    const email = normalizeEmail(identity.email);
    if (known && known.user.email === email && known.recheckAt > this.clock.now().getTime()) return known.user;
    return this.sync(identity);
  }

  /** Creates or updates the row for `identity` now. */
  async sync(identity: SupabaseIdentity): Promise<User> {
    const row = { id: identity.id, email: normalizeEmail(identity.email), displayName: identity.displayName };
    let user: User;
    try {
      user = await this.upsert(this.db, row);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      user = await this.db.transaction(async (tx) => {
        // Another row holds the email: a user Supabase no longer has (deleted, or renamed and not
        // seen since), or one left from built-in auth. Supabase decides who owns an email, so the
        // old row gives it up and keeps its data under a placeholder address.
        await tx
          .update(users)
          .set({ email: sql`${users.id}::text || '@superseded.invalid'`, updatedAt: this.clock.now() })
          .where(and(eq(users.email, row.email), ne(users.id, row.id)));
        return this.upsert(tx, row);
      });
    }
    if (this.seen.size >= MAX_REMEMBERED) this.seen.clear();
    this.seen.set(user.id, { user, recheckAt: this.clock.now().getTime() + RECHECK_MS });
    return user;
  }

  private async upsert(db: Pick<Database, 'insert'>, row: { id: string; email: string; displayName: string | null }) {
    const now = this.clock.now();
    const [stored] = await db
      .insert(users)
      .values({ ...row, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: users.id,
        set: {
          email: sql`excluded.email`,
          updatedAt: sql`case when ${users.email} = excluded.email then ${users.updatedAt} else excluded.updated_at end`,
        },
      })
      .returning();
    if (!stored) throw new Error('upsert returned no row');
    return toUser(stored);
  }
}
