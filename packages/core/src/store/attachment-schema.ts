import { sql } from 'drizzle-orm';
import { boolean, check, customType, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { messages, users } from './schema';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  // postgres.js sends a Buffer as bytea; PGlite takes any Uint8Array.
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
});

/**
 * A file sent with a user message (chat.send's `attachments`): what it is, and where its bytes are.
 * Its own file so the attachment tables stay apart from the chat store's (drizzle.config lists both).
 * Deleted with its message (and so its conversation) and with its user; the bytes in an external
 * storage are deleted by the attachment service first.
 */
export const attachments = pgTable(
  'attachments',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    messageId: uuid('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    /** The order it was sent in, within its message. */
    position: integer('position').notNull(),
    name: text('name').notNull(),
    /** The media type its bytes were sniffed as (never only the one the client declared). */
    mediaType: text('media_type').notNull(),
    kind: text('kind', { enum: ['image', 'text'] }).notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    /** For a text-like file: the text put into the model's context (already cut to the token limit). */
    extractedText: text('extracted_text'),
    truncated: boolean('truncated').notNull().default(false),
    /** Which storage holds the bytes (`database`, `s3`), and under which key. */
    storage: text('storage').notNull(),
    storageKey: text('storage_key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('attachments_message_idx').on(t.messageId, t.position),
    index('attachments_user_idx').on(t.userId),
    check('attachments_size_check', sql`${t.sizeBytes} >= 0`),
  ],
);

/** The bytes of attachments when the database is their storage (ATTACHMENT_STORAGE=database, the default). */
export const attachmentBlobs = pgTable('attachment_blobs', {
  storageKey: text('storage_key').primaryKey(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  data: bytea('data').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
