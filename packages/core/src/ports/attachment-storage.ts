/**
 * Where the bytes of attachments live: Hearth's database on the embedded default
 * (ATTACHMENT_STORAGE=database), or an S3-compatible bucket (S3, MinIO, R2, Supabase Storage's S3
 * endpoint) in production. Their details (name, type, owner, message) are always in the database.
 */
export interface AttachmentStorage {
  /** What `attachments.storage` records, so a row says where its bytes are. */
  readonly kind: 'database' | 's3';
  put(object: { key: string; userId: string; mediaType: string; bytes: Uint8Array }): Promise<void>;
  /** The bytes under `key`; null when there are none. */
  get(key: string): Promise<Uint8Array | null>;
  /** Removes the objects; keys that hold nothing are no error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Whether the storage answers (readiness); null when it is the database itself. */
  probe(): Promise<boolean | null>;
}
