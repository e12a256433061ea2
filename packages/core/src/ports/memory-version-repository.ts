import type { MemoryVersion } from '../domain/chat';

/** Who made a change: for the agent, the run and the user message that caused it. */
export type MemoryAuthor = { by: 'user' } | { by: 'system' } | { by: 'agent'; runId: string; messageId: string };

export interface NewVersion {
  userId: string;
  label: string;
  value: string;
  previousValue: string | null;
  author: MemoryAuthor;
  at: Date;
}

/** Appends versions and reads the newest ones, inside or outside a serialized section. */
export interface MemoryVersionWriter {
  record(version: NewVersion): Promise<MemoryVersion>;
  /** The newest version of each of the user's blocks, by label. */
  latest(userId: string): Promise<Map<string, MemoryVersion>>;
}

/** Every change of every memory block, per user, for both agent backends. */
export interface MemoryVersionRepository extends MemoryVersionWriter {
  /**
   * Runs `fn` alone among the user's version writers (every process), so two reconciling one user's
   * blocks with an upstream (Letta) cannot both record the same change.
   */
  serialized<T>(userId: string, fn: (versions: MemoryVersionWriter) => Promise<T>): Promise<T>;
  find(userId: string, versionId: string): Promise<MemoryVersion | null>;
  /** Newest first; a cursor only continues the list it came from (the same label filter). */
  page(
    userId: string,
    input: { label?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ versions: MemoryVersion[]; nextCursor: string | null }>;
}
