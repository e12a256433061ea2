import { and, asc, eq, inArray } from 'drizzle-orm';
import type { AttachmentRecord, AttachmentRepository } from '../../ports/attachment-repository';
import { attachments } from '../attachment-schema';
import type { Database } from '../database';
import { messages } from '../schema';

/** The `attachments` table on Drizzle (the bytes are the storage port's). */
export class DrizzleAttachmentStore implements AttachmentRepository {
  constructor(private readonly db: Database) {}

  async insert(rows: readonly Omit<AttachmentRecord, 'createdAt'>[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.insert(attachments).values([...rows]);
  }

  /** The user's attachment; another user's is as absent as an unknown id. */
  async find(userId: string, id: string): Promise<AttachmentRecord | null> {
    const [row] = await this.db
      .select()
      .from(attachments)
      .where(and(eq(attachments.id, id), eq(attachments.userId, userId)));
    return row ?? null;
  }

  /** The attachments of these messages of the user's, in the order they were sent. */
  async ofMessages(userId: string, messageIds: readonly string[]): Promise<Map<string, AttachmentRecord[]>> {
    const byMessage = new Map<string, AttachmentRecord[]>();
    if (messageIds.length === 0) return byMessage;
    const rows = await this.db
      .select()
      .from(attachments)
      .where(and(eq(attachments.userId, userId), inArray(attachments.messageId, [...messageIds])))
      .orderBy(asc(attachments.messageId), asc(attachments.position));
    for (const row of rows) {
      const list = byMessage.get(row.messageId) ?? [];
      list.push(row);
      byMessage.set(row.messageId, list);
    }
    return byMessage;
  }

  /** Every attachment of the user, oldest first (export, account deletion). */
  async ofUser(userId: string): Promise<AttachmentRecord[]> {
    return this.db
      .select()
      .from(attachments)
      .where(eq(attachments.userId, userId))
      .orderBy(asc(attachments.createdAt), asc(attachments.id));
  }

  /** Where the bytes of a conversation's attachments are, before the conversation goes. */
  async keysOfConversation(userId: string, conversationId: string): Promise<string[]> {
    const rows = await this.db
      .select({ key: attachments.storageKey })
      .from(attachments)
      .innerJoin(messages, eq(messages.id, attachments.messageId))
      .where(and(eq(attachments.userId, userId), eq(messages.conversationId, conversationId)));
    return rows.map((row) => row.key);
  }
}
