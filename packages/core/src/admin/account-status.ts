import { eq, isNotNull, sql } from 'drizzle-orm';
import { normalizeEmail } from '../domain/email';
import type { Clock } from '../ports/clock';
import type { Revocations } from '../ports/revocations';
import type { Database } from '../store/database';
import { users } from '../store/schema';

/**
 * How long a shared store's answer is trusted, as for sessions (see BuiltinAuthProvider): a disable
 * made by this process applies at once, one made by another process sharing the database within this.
 */
const RECHECK_MS = 5_000;
const MAX_REMEMBERED = 50_000;

/**
 * Which accounts an operator has disabled, asked on every authenticated request. On a store this
 * process alone writes (the embedded PGlite) the set is read once and then kept exact here; on a
 * shared PostgreSQL each user's answer is read again after a few seconds.
 */
export class AccountStatus {
  private disabledSet: Promise<Set<string>> | null = null;
  private readonly checked = new Map<string, { disabled: boolean; recheckAt: number }>();
  private readonly adminEmails: ReadonlySet<string>;

  constructor(
    private readonly options: {
      db: Database;
      clock: Clock;
      soleWriter: boolean;
      adminEmails?: readonly string[];
      /** Tells the other processes of an account disabled or enabled here, and this one of theirs. */
      revocations?: Revocations;
    },
  ) {
    this.adminEmails = new Set((options.adminEmails ?? []).map((email) => normalizeEmail(email)));
    options.revocations?.subscribe((revocation) => {
      if (revocation.kind === 'account') this.checked.delete(revocation.userId);
    });
  }

  async isDisabled(userId: string): Promise<boolean> {
    if (this.options.soleWriter) {
      this.disabledSet ??= this.options.db
        .select({ id: users.id })
        .from(users)
        .where(isNotNull(users.disabledAt))
        .then((rows) => new Set(rows.map((row) => row.id)));
      return (await this.disabledSet).has(userId);
    }
    const now = this.options.clock.now().getTime();
    const known = this.checked.get(userId);
    if (known && known.recheckAt > now) return known.disabled;
    const [row] = await this.options.db
      .select({ disabled: sql<boolean>`${users.disabledAt} is not null` })
      .from(users)
      .where(eq(users.id, userId));
    // No row: the account was deleted (by another process), and whatever token it had is refused.
    const disabled = row ? Boolean(row.disabled) : true;
    if (this.checked.size >= MAX_REMEMBERED) this.checked.clear();
    this.checked.set(userId, { disabled, recheckAt: now + RECHECK_MS });
    return disabled;
  }

  /** Marks or clears the account as disabled in the store, and here at once. False: no such user. */
  async setDisabled(userId: string, disabled: boolean): Promise<boolean> {
    const now = this.options.clock.now();
    const updated = await this.options.db
      .update(users)
      .set({
        disabledAt: disabled ? sql`coalesce(${users.disabledAt}, ${now.toISOString()}::timestamptz)` : null,
        updatedAt: now,
      })
      .where(eq(users.id, userId))
      .returning({ id: users.id });
    if (updated.length === 0) return false;
    this.options.revocations?.publish({ kind: 'account', userId });
    this.remember(userId, disabled);
    return true;
  }

  /** Whether ADMIN_EMAILS names this account. */
  isListedAdmin(email: string): boolean {
    return this.adminEmails.size > 0 && this.adminEmails.has(normalizeEmail(email));
  }

  private remember(userId: string, disabled: boolean): void {
    if (this.disabledSet) {
      void this.disabledSet.then((set) => (disabled ? set.add(userId) : set.delete(userId)));
    }
    this.checked.set(userId, { disabled, recheckAt: this.options.clock.now().getTime() + RECHECK_MS });
  }
}

/** Gives the account the admin role (a no-op when it has it). False: no account has that email. */
export async function grantAdmin(db: Database, email: string, now: Date): Promise<{ id: string } | null> {
  const [row] = await db
    .update(users)
    .set({ role: 'admin', updatedAt: now })
    .where(eq(users.email, normalizeEmail(email)))
    .returning({ id: users.id });
  return row ?? null;
}
