import { eq } from 'drizzle-orm';
import type { LettaAgentRecord, LettaAgentRepository } from '../../ports/letta-agent-repository';
import type { Database } from '../../store/database';
import { lettaAgents } from '../../store/schema';

/** Which Letta agent is each user's, in Hearth's store: one row per user, written once. */
export class LettaAgentIds implements LettaAgentRepository {
  constructor(private readonly db: Database) {}

  async find(userId: string): Promise<LettaAgentRecord | null> {
    const [row] = await this.db
      .select({ lettaAgentId: lettaAgents.lettaAgentId, model: lettaAgents.model, createdAt: lettaAgents.createdAt })
      .from(lettaAgents)
      .where(eq(lettaAgents.userId, userId));
    return row ?? null;
  }

  async setModel(userId: string, model: string): Promise<LettaAgentRecord> {
    await this.db.update(lettaAgents).set({ model }).where(eq(lettaAgents.userId, userId));
    const stored = await this.find(userId);
    if (!stored) throw new Error('letta agent row vanished while its model was set');
    return stored;
  }

  async claim(userId: string, lettaAgentId: string): Promise<LettaAgentRecord> {
    await this.db
      .insert(lettaAgents)
      .values({ userId, lettaAgentId })
      .onConflictDoNothing({ target: lettaAgents.userId });
    const stored = await this.find(userId);
    if (!stored) throw new Error('letta agent row vanished right after it was written');
    return stored;
  }
}
