import { type Clock, systemClock } from '../ports/clock';
import type { LettaAgentRecord, LettaAgentRepository } from '../ports/letta-agent-repository';

/** LettaAgentIds without a database: one record per user, the first claim standing. */
export class InMemoryLettaAgentIds implements LettaAgentRepository {
  private readonly records = new Map<string, LettaAgentRecord>();

  constructor(private readonly clock: Clock = systemClock) {}

  async find(userId: string): Promise<LettaAgentRecord | null> {
    const record = this.records.get(userId);
    return record ? { ...record } : null;
  }

  async setModel(userId: string, model: string): Promise<LettaAgentRecord> {
    const record = this.records.get(userId);
    // The Drizzle adapter updates no row then, and fails reading it back.
    if (!record) throw new Error('letta agent row vanished while its model was set');
    record.model = model;
    return { ...record };
  }

  async claim(userId: string, lettaAgentId: string): Promise<LettaAgentRecord> {
    let record = this.records.get(userId);
    if (!record) {
      record = { lettaAgentId, model: null, createdAt: this.clock.now() };
      this.records.set(userId, record);
    }
    return { ...record };
  }

  /** Drops a user's record, as a store restored from before the agent existed would have none. */
  delete(userId: string): void {
    this.records.delete(userId);
  }
}
