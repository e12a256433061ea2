import type { AttachmentKind } from '../domain/attachment';

/** An attachment's row: its details and where its bytes are. */
export interface AttachmentRecord {
  id: string;
  userId: string;
  messageId: string;
  position: number;
  name: string;
  mediaType: string;
  kind: AttachmentKind;
  sizeBytes: number;
  extractedText: string | null;
  truncated: boolean;
  storage: string;
  storageKey: string;
  createdAt: Date;
}

/** The attachments of messages, by user (the bytes are the `AttachmentStorage` port's). */
export interface AttachmentRepository {
  insert(rows: readonly Omit<AttachmentRecord, 'createdAt'>[]): Promise<void>;
  /** The user's attachment; another user's is as absent as an unknown id. */
  find(userId: string, id: string): Promise<AttachmentRecord | null>;
  /** The attachments of these messages of the user's, in the order they were sent. */
  ofMessages(userId: string, messageIds: readonly string[]): Promise<Map<string, AttachmentRecord[]>>;
  /** Every attachment of the user, oldest first (export, account deletion). */
  ofUser(userId: string): Promise<AttachmentRecord[]>;
  /** Where the bytes of a conversation's attachments are, before the conversation goes. */
  keysOfConversation(userId: string, conversationId: string): Promise<string[]>;
}
