import { eq } from 'drizzle-orm';
import { AppError } from '../domain/errors';
import type { AuthenticatedUser, User, UserProfile } from '../domain/user';
import type { AgentRuntime } from '../ports/agent-runtime';
import type { Clock } from '../ports/clock';
import type { UserService } from '../ports/user-service';
import type { Database } from '../store/database';
import { users } from '../store/schema';
import { toUser } from './user-row';

export class StoreUserService implements UserService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly agents: Pick<AgentRuntime, 'findAgent'>,
  ) {}

  async me(caller: AuthenticatedUser): Promise<User> {
    const [row] = await this.db.select().from(users).where(eq(users.id, caller.id)).limit(1);
    if (!row) throw new AppError('UNAUTHENTICATED', 'This account no longer exists.');
    return toUser(row);
  }

  async profile(caller: AuthenticatedUser): Promise<UserProfile> {
    // The agent is made on the first send or agent call; until then there is none to name.
    const [user, agent] = await Promise.all([this.me(caller), this.agents.findAgent(caller.id)]);
    return { ...user, agentId: agent?.agentId ?? null };
  }

  async updateProfile(caller: AuthenticatedUser, changes: { displayName: string | null }): Promise<User> {
    const [row] = await this.db
      .update(users)
      .set({ displayName: changes.displayName, updatedAt: this.clock.now() })
      .where(eq(users.id, caller.id))
      .returning();
    if (!row) throw new AppError('UNAUTHENTICATED', 'This account no longer exists.');
    return toUser(row);
  }
}
