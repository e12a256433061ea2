import { eq, inArray } from 'drizzle-orm';
import type { AttachmentStorage } from '../../ports/attachment-storage';
import { attachmentBlobs } from '../../store/attachment-schema';
import type { Database } from '../../store/database';

/**
 * The embedded default (ATTACHMENT_STORAGE=database): the bytes in the `attachment_blobs` table of
 * Hearth's own store (PGlite or PostgreSQL), removed with their user by the foreign key.
 */
export class DatabaseAttachmentStorage implements AttachmentStorage {
  readonly kind = 'database' as const;

  constructor(private readonly db: Database) {}

  async put(object: { key: string; userId: string; bytes: Uint8Array }): Promise<void> {
    await this.db.insert(attachmentBlobs).values({ storageKey: object.key, userId: object.userId, data: object.bytes });
  }

  async get(key: string): Promise<Uint8Array | null> {
    const [row] = await this.db
      .select({ data: attachmentBlobs.data })
      .from(attachmentBlobs)
      .where(eq(attachmentBlobs.storageKey, key));
    return row ? new Uint8Array(row.data) : null;
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.delete(attachmentBlobs).where(inArray(attachmentBlobs.storageKey, [...keys]));
  }

  async probe(): Promise<null> {
    return null;
  }
}
