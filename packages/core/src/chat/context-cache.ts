export interface ContextMessage {
  id: string;
  seq: number;
  role: 'user' | 'assistant';
  content: string;
}

interface CachedContext {
  summary: string | null;
  /** Messages after the summary, oldest first, at most `keep` of them. */
  history: ContextMessage[];
  characters: number;
}

/**
 * The recent messages of conversations, so a turn does not reload (and the store re-parse) its
 * history from the database every time. Only sound when this process is the store's one writer:
 * every write to a conversation's messages or summary goes through `append`, `summarise` or
 * `forget`, so an entry is either exact or absent. Least recently used entries go first once the
 * cached text passes `maxCharacters`.
 */
export class ContextCache {
  private readonly entries = new Map<string, CachedContext>();
  private characters = 0;

  constructor(
    private readonly keep: number,
    private readonly maxCharacters: number,
  ) {}

  /**
   * The newest `limit` messages before the message `beforeId`, oldest first; undefined when the
   * conversation, or that message in it, is not cached.
   */
  get(conversationId: string, beforeId: string, limit: number) {
    const entry = this.entries.get(conversationId);
    const before = entry?.history.findLastIndex((message) => message.id === beforeId) ?? -1;
    if (!entry || before === -1 || limit >= this.keep) return undefined;
    // Re-inserted so the map's order is least recently used first.
    this.entries.delete(conversationId);
    this.entries.set(conversationId, entry);
    return { summary: entry.summary, history: entry.history.slice(Math.max(0, before - limit), before) };
  }

  /** Starts an entry from what the database holds (everything after the summary, newest `keep`). */
  fill(conversationId: string, summary: string | null, history: ContextMessage[]): void {
    this.forget(conversationId);
    const kept = history.slice(Math.max(0, history.length - this.keep));
    const entry = {
      summary,
      history: kept,
      characters: size(summary) + kept.reduce((n, m) => n + m.content.length, 0),
    };
    this.entries.set(conversationId, entry);
    this.characters += entry.characters;
    this.evict();
  }

  /** A message just stored in the conversation; empty ones never reach a turn's context. */
  append(conversationId: string, message: ContextMessage): void {
    const entry = this.entries.get(conversationId);
    if (!entry || message.content === '') return;
    entry.history.push(message);
    entry.characters += message.content.length;
    this.characters += message.content.length;
    while (entry.history.length > this.keep) this.drop(entry, 1);
    this.evict();
  }

  /** The stored position of a message appended before its write finished (see ChatStore.startRun). */
  placed(conversationId: string, messageId: string, seq: number): void {
    const message = this.entries.get(conversationId)?.history.findLast((m) => m.id === messageId);
    if (message) message.seq = seq;
  }

  /** The conversation's messages through `throughSeq` are now stood for by `summary`. */
  summarise(conversationId: string, summary: string, throughSeq: number): void {
    const entry = this.entries.get(conversationId);
    if (!entry) return;
    const covered = entry.history.findIndex((message) => message.seq > throughSeq);
    this.drop(entry, covered === -1 ? entry.history.length : covered);
    this.characters += summary.length - size(entry.summary);
    entry.characters += summary.length - size(entry.summary);
    entry.summary = summary;
  }

  forget(conversationId: string): void {
    const entry = this.entries.get(conversationId);
    if (!entry) return;
    this.characters -= entry.characters;
    this.entries.delete(conversationId);
  }

  clear(): void {
    this.entries.clear();
    this.characters = 0;
  }

  private drop(entry: CachedContext, count: number): void {
    for (const message of entry.history.splice(0, count)) {
      entry.characters -= message.content.length;
      this.characters -= message.content.length;
    }
  }

  private evict(): void {
    for (const conversationId of this.entries.keys()) {
      if (this.characters <= this.maxCharacters) return;
      this.forget(conversationId);
    }
  }
}

const size = (text: string | null) => text?.length ?? 0;
