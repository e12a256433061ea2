export interface ContextMessage {
  id: string;
  seq: number;
  role: 'user' | 'assistant';
  content: string;
}

interface CachedContext {
  summary: string | null;
  /**
   * The conversation's active branch after the summary, oldest first, at most `keep` messages: each
   * one follows the one before it, and the last is the branch's leaf. Empty messages are held to keep
   * that chain whole, and skipped when a turn reads it.
   */
  history: ContextMessage[];
  /** Whether `history` reaches back to the summary (or the conversation's start), so a short read is exact. */
  complete: boolean;
  characters: number;
}

/**
 * The recent messages of conversations' active branches, so a turn does not reload (and the store
 * re-parse) its history from the database every time. Only sound when this process is the store's
 * one writer: every write to a conversation's messages, branch or summary goes through `append`,
 * `rewind`, `summarise` or `forget`, so an entry is either exact or absent. Least recently used
 * entries go first once the cached text passes `maxCharacters`.
 */
export class ContextCache {
  private readonly entries = new Map<string, CachedContext>();
  private characters = 0;

  constructor(
    private readonly keep: number,
    private readonly maxCharacters: number,
  ) {}

  /**
   * The newest `limit` non-empty messages of the branch before the message `beforeId`, oldest first:
   * those it follows, never a sibling's. Undefined when the conversation, or that message in it, is
   * not cached, or when the cache holds fewer than the database would give.
   */
  get(conversationId: string, beforeId: string, limit: number) {
    const entry = this.entries.get(conversationId);
    const before = entry?.history.findLastIndex((message) => message.id === beforeId) ?? -1;
    if (!entry || before === -1 || limit >= this.keep) return undefined;
    const history: ContextMessage[] = [];
    for (let i = before - 1; i >= 0 && history.length < limit; i -= 1) {
      const message = entry.history[i];
      if (message && message.content !== '') history.push(message);
    }
    if (history.length < limit && !entry.complete) return undefined;
    // Re-inserted so the map's order is least recently used first.
    this.entries.delete(conversationId);
    this.entries.set(conversationId, entry);
    return {
      summary: entry.summary,
      history: history.reverse().map(({ seq, role, content }) => ({ seq, role, content })),
    };
  }

  /**
   * Starts an entry from what the database holds: the branch up to a message, after the summary,
   * newest `keep`. `complete` when that is all of it back to the summary or the first message.
   */
  fill(conversationId: string, summary: string | null, history: ContextMessage[], complete = false): void {
    this.forget(conversationId);
    const kept = history.slice(Math.max(0, history.length - this.keep));
    const entry = {
      summary,
      history: kept,
      complete: complete && kept.length === history.length,
      characters: size(summary) + kept.reduce((n, m) => n + m.content.length, 0),
    };
    this.entries.set(conversationId, entry);
    this.characters += entry.characters;
    this.evict();
  }

  /** A message just stored after the branch's leaf (a send, an answer): it is the new leaf. */
  append(conversationId: string, message: ContextMessage): void {
    const entry = this.entries.get(conversationId);
    if (!entry) return;
    entry.history.push(message);
    entry.characters += message.content.length;
    this.characters += message.content.length;
    if (entry.history.length > this.keep) this.drop(entry, entry.history.length - this.keep);
    this.evict();
  }

  /**
   * The branch now ends at `messageId` (a regenerate answers it again, an edit follows it): what came
   * after it is no longer on the branch. Not cached: the entry is forgotten.
   */
  rewind(conversationId: string, messageId: string): void {
    const entry = this.entries.get(conversationId);
    if (!entry) return;
    const at = entry.history.findLastIndex((message) => message.id === messageId);
    if (at === -1) {
      this.forget(conversationId);
      return;
    }
    for (const message of entry.history.splice(at + 1)) {
      entry.characters -= message.content.length;
      this.characters -= message.content.length;
    }
  }

  /** The stored position of a message appended before its write finished (see DrizzleChatStore.startRun). */
  placed(conversationId: string, messageId: string, seq: number): void {
    const message = this.entries.get(conversationId)?.history.findLast((m) => m.id === messageId);
    if (message) message.seq = seq;
  }

  /** The conversation's messages through `throughSeq` are now stood for by `summary`. */
  summarise(conversationId: string, summary: string, throughSeq: number): void {
    const entry = this.entries.get(conversationId);
    if (!entry) return;
    const covered = entry.history.findIndex((message) => message.seq > throughSeq);
    const dropped = covered === -1 ? entry.history.length : covered;
    // What is left starts right after the summary only if the summary's last message was held.
    if (dropped > 0) entry.complete = true;
    for (const message of entry.history.splice(0, dropped)) {
      entry.characters -= message.content.length;
      this.characters -= message.content.length;
    }
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
    entry.complete = false;
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
