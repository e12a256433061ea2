/** The Letta agent a user has, as Hearth's store records it. */
export interface LettaAgentRecord {
  lettaAgentId: string;
  /** The handle the user chose (agent.setModel); null: the default. */
  model: string | null;
  createdAt: Date;
}

/**
 * Which Letta agent is each user's: one record per user, written once. Letta can find an agent by
 * its tag as well, but only this record makes two processes creating one at once agree on which stands.
 */
export interface LettaAgentRepository {
  find(userId: string): Promise<LettaAgentRecord | null>;
  /** Records the model the user's agent was switched to. */
  setModel(userId: string, model: string): Promise<LettaAgentRecord>;
  /** Records the user's agent unless another process recorded one first; returns the one that stands. */
  claim(userId: string, lettaAgentId: string): Promise<LettaAgentRecord>;
}
