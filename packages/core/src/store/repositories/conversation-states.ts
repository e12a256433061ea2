import type { ConversationSettings } from '../../ports/conversation-repository';

interface ConversationState {
  userId: string;
  activeRunId: string | null;
  /** Its model and whether it has a title, once read or written here; unset: ask the database. */
  settings?: ConversationSettings;
}

export type Claim = 'claimed' | 'unknown' | 'not_found' | 'run_active';

/**
 * Whose each conversation is and which run is active in it, for the conversations this process
 * has seen, so a send can be decided without asking the database. Only sound when this process is
 * the store's one writer: every change to a conversation's runs goes through `started`, `ended` or
 * `forget`, so an entry is either exact or absent, and an absent one sends the decision back to the
 * database. Past `maxEntries` it starts over, which only costs those queries again.
 */
export class ConversationStates {
  private readonly states = new Map<string, ConversationState>();

  constructor(private readonly maxEntries: number) {}

  /** Takes the conversation for `runId` when it is known to be the user's and idle. */
  claim(conversationId: string, userId: string, runId: string): Claim {
    const state = this.states.get(conversationId);
    if (!state) return 'unknown';
    if (state.userId !== userId) return 'not_found';
    if (state.activeRunId) return 'run_active';
    state.activeRunId = runId;
    return 'claimed';
  }

  /** A conversation the database just confirmed: the user's, with `activeRunId` running (or none). */
  started(conversationId: string, userId: string, activeRunId: string | null): void {
    if (this.states.size >= this.maxEntries) this.states.clear();
    const settings = this.states.get(conversationId)?.settings;
    this.states.set(conversationId, { userId, activeRunId, ...(settings ? { settings } : {}) });
  }

  /** The conversation's settings, when this process knows them and it is the user's. */
  settings(conversationId: string, userId: string): ConversationSettings | undefined {
    const state = this.states.get(conversationId);
    return state?.userId === userId ? state.settings : undefined;
  }

  /** Its settings as just read or written (a known conversation only: the owner comes from `started`). */
  remember(conversationId: string, settings: ConversationSettings): void {
    const state = this.states.get(conversationId);
    if (state) state.settings = settings;
  }

  /** The run's end is stored: the conversation is free again. */
  ended(conversationId: string, runId: string): void {
    const state = this.states.get(conversationId);
    if (state?.activeRunId === runId) state.activeRunId = null;
  }

  forget(conversationId: string): void {
    this.states.delete(conversationId);
  }
}
