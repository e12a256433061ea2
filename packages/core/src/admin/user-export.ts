import { and, asc, eq, gt } from 'drizzle-orm';
import type { Database } from '../store/database';
import { agents, archivalPassages, conversations, memoryBlocks, messages, usageRecords, users } from '../store/schema';

const PAGE = 500;

export interface ExportProgress {
  conversations: number;
  conversationsTotal: number;
  messages: number;
}

/**
 * One user's data as a JSON document, written piece by piece so a long history never sits in
 * memory whole: the profile, every conversation with its messages, the agent's memory (core blocks
 * and archival passages kept by the built-in agent) and every usage record. Credentials, sessions
 * and keys are not part of it. `onProgress` hears after each conversation.
 */
export async function* exportUser(
  db: Database,
  userId: string,
  options: { now: Date; onProgress?: (progress: ExportProgress) => void },
): AsyncGenerator<string> {
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

  const [agent] = await db.select().from(agents).where(eq(agents.userId, userId));
  const blocks = agent
    ? await db
        .select({
          label: memoryBlocks.label,
          value: memoryBlocks.value,
          description: memoryBlocks.description,
          updatedAt: memoryBlocks.updatedAt,
          updatedBy: memoryBlocks.updatedBy,
        })
        .from(memoryBlocks)
        .where(eq(memoryBlocks.agentId, agent.id))
        .orderBy(asc(memoryBlocks.label))
    : [];
  const passages = agent
    ? await db
        .select({
          id: archivalPassages.id,
          content: archivalPassages.content,
          tags: archivalPassages.tags,
          createdAt: archivalPassages.createdAt,
        })
        .from(archivalPassages)
        .where(eq(archivalPassages.agentId, agent.id))
        .orderBy(asc(archivalPassages.createdAt))
    : [];
  yield `,"memory":{"blocks":${json(blocks)},"archival":${json(passages)}}`;

  const owned = await db
    .select({
      id: conversations.id,
      title: conversations.title,
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
  yield ']}\n';
}
