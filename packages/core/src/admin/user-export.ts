import { and, asc, eq, gt } from 'drizzle-orm';
import type { AgentRuntime } from '../ports/agent-runtime';
import type { Database } from '../store/database';
import {
  agents,
  archivalPassages,
  conversations,
  memoryBlocks,
  memoryVersions,
  messages,
  usageRecords,
  users,
} from '../store/schema';

const PAGE = 500;

export interface ExportProgress {
  conversations: number;
  conversationsTotal: number;
  messages: number;
}

export interface ExportOptions {
  now: Date;
  onProgress?: (progress: ExportProgress) => void;
  /**
   * The agent backend, to read the core blocks and archival memory from where they live (Letta
   * keeps them itself); without it they are read from Hearth's store, where the built-in agent keeps them.
   */
  agent?: Pick<AgentRuntime, 'memory' | 'archival'>;
  /** The user's attachments with their bytes, from wherever they are stored; without it: none. */
  attachments?: (userId: string) => AsyncIterable<unknown>;
}

/**
 * One user's data as a JSON document, written piece by piece so a long history never sits in
 * memory whole: the profile, the agent's memory (core blocks, every version of them, archival
 * passages), every conversation with its messages, and every usage record. Credentials, sessions
 * and keys are not part of it. `onProgress` hears after each conversation.
 */
export async function* exportUser(db: Database, userId: string, options: ExportOptions): AsyncGenerator<string> {
  const [profile] = await db
    .select({
      id: users.id,
      email: users.email,
      displayName: users.displayName,
      role: users.role,
      createdAt: users.createdAt,
      disabledAt: users.disabledAt,
    })
    .from(users)
    .where(eq(users.id, userId));
  if (!profile) return;
  const json = (value: unknown) => JSON.stringify(value);
  yield `{"format":"hearth.user-export/1","exportedAt":${json(options.now)},"profile":${json(profile)}`;

  yield `,"memory":{"blocks":${json(options.agent ? await options.agent.memory(userId) : await storedBlocks(db, userId))}`;
  yield `,"history":[`;
  let afterSeq = 0;
  let firstVersion = true;
  for (;;) {
    const page = await db
      .select()
      .from(memoryVersions)
      .where(and(eq(memoryVersions.userId, userId), gt(memoryVersions.seq, afterSeq)))
      .orderBy(asc(memoryVersions.seq))
      .limit(PAGE);
    for (const { seq: _seq, userId: _owner, author, ...version } of page) {
      yield `${firstVersion ? '' : ','}${json({ ...version, updatedBy: author })}`;
      firstVersion = false;
    }
    const last = page.at(-1);
    if (!last || page.length < PAGE) break;
    afterSeq = last.seq;
  }
  yield `],"archival":[`;
  let firstPassage = true;
  for await (const passage of archival(db, userId, options.agent)) {
    yield `${firstPassage ? '' : ','}${json(passage)}`;
    firstPassage = false;
  }
  yield ']}';

  const owned = await db
    .select({
      id: conversations.id,
      title: conversations.title,
      model: conversations.model,
      isDefault: conversations.isDefault,
      createdAt: conversations.createdAt,
      lastActiveAt: conversations.lastActiveAt,
    })
    .from(conversations)
    .where(eq(conversations.userId, userId))
    .orderBy(asc(conversations.createdAt), asc(conversations.id));
  const progress: ExportProgress = { conversations: 0, conversationsTotal: owned.length, messages: 0 };
  yield `,"conversations":[`;
  for (const [index, conversation] of owned.entries()) {
    yield `${index === 0 ? '' : ','}${json(conversation).slice(0, -1)},"messages":[`;
    let after = 0;
    let first = true;
    for (;;) {
      const page = await db
        .select({
          id: messages.id,
          seq: messages.seq,
          parentId: messages.parentId,
          role: messages.role,
          content: messages.content,
          status: messages.status,
          runId: messages.runId,
          promptTokens: messages.promptTokens,
          completionTokens: messages.completionTokens,
          costMicros: messages.costMicros,
          createdAt: messages.createdAt,
        })
        .from(messages)
        .where(and(eq(messages.conversationId, conversation.id), gt(messages.seq, after)))
        .orderBy(asc(messages.seq))
        .limit(PAGE);
      for (const message of page) {
        const { costMicros, ...rest } = message;
        yield `${first ? '' : ','}${json({ ...rest, costUsd: costMicros === null ? null : costMicros / 1_000_000 })}`;
        first = false;
      }
      progress.messages += page.length;
      const last = page.at(-1);
      if (!last || page.length < PAGE) break;
      after = last.seq;
    }
    yield ']}';
    progress.conversations += 1;
    options.onProgress?.({ ...progress });
  }
  yield `],"usage":[`;
  // Paged by id, which is exact (a timestamp read back into a Date loses its microseconds).
  let afterId = '00000000-0000-0000-0000-000000000000';
  let first = true;
  for (;;) {
    const page = await db
      .select()
      .from(usageRecords)
      .where(and(eq(usageRecords.userId, userId), gt(usageRecords.id, afterId)))
      .orderBy(asc(usageRecords.id))
      .limit(PAGE);
    for (const record of page) {
      const { costMicros, userId: _owner, ...rest } = record;
      yield `${first ? '' : ','}${json({ ...rest, costUsd: costMicros / 1_000_000 })}`;
      first = false;
    }
    const last = page.at(-1);
    if (!last || page.length < PAGE) break;
    afterId = last.id;
  }
  yield '],"attachments":[';
  let firstAttachment = true;
  for await (const attachment of options.attachments?.(userId) ?? []) {
    yield `${firstAttachment ? '' : ','}${json(attachment)}`;
    firstAttachment = false;
  }
  yield ']}\n';
}

async function storedBlocks(db: Database, userId: string) {
  return db
    .select({
      label: memoryBlocks.label,
      value: memoryBlocks.value,
      description: memoryBlocks.description,
      updatedAt: memoryBlocks.updatedAt,
      updatedBy: memoryBlocks.updatedBy,
    })
    .from(memoryBlocks)
    .innerJoin(agents, eq(agents.id, memoryBlocks.agentId))
    .where(eq(agents.userId, userId))
    .orderBy(asc(memoryBlocks.label));
}

/** Archival passages, a page at a time: from the agent backend when given, else from Hearth's store. */
async function* archival(db: Database, userId: string, agent: ExportOptions['agent']) {
  if (agent) {
    let cursor: string | undefined;
    do {
      const page = await agent.archival(userId, { limit: 100, ...(cursor ? { cursor } : {}) });
      yield* page.passages;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return;
  }
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await db
      .select({
        id: archivalPassages.id,
        content: archivalPassages.content,
        tags: archivalPassages.tags,
        createdAt: archivalPassages.createdAt,
      })
      .from(archivalPassages)
      .innerJoin(agents, eq(agents.id, archivalPassages.agentId))
      .where(and(eq(agents.userId, userId), gt(archivalPassages.id, after)))
      .orderBy(asc(archivalPassages.id))
      .limit(PAGE);
    yield* page;
    const last = page.at(-1);
    if (!last || page.length < PAGE) return;
    after = last.id;
  }
}
