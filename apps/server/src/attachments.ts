import {
  AttachmentService,
  type AttachmentStorage,
  type Database,
  DatabaseAttachmentStorage,
  DrizzleAttachmentStore,
  type ModelCatalog,
  S3AttachmentStorage,
} from '@hearth/core';
import type { Config } from './config';

interface Logger {
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/** Where attachments' bytes go: the database (the default), or an S3-compatible bucket. */
export function attachmentStorageFor(config: Config, db: Database): AttachmentStorage {
  if (config.ATTACHMENT_STORAGE !== 's3') return new DatabaseAttachmentStorage(db);
  const { S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY } = config;
  // The config's refinement requires them with ATTACHMENT_STORAGE=s3.
  if (!S3_ENDPOINT || !S3_BUCKET || !S3_ACCESS_KEY_ID || !S3_SECRET_ACCESS_KEY) {
    throw new Error('ATTACHMENT_STORAGE=s3 needs S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY');
  }
  return new S3AttachmentStorage({
    endpoint: S3_ENDPOINT,
    bucket: S3_BUCKET,
    region: config.S3_REGION,
    accessKeyId: S3_ACCESS_KEY_ID,
    secretAccessKey: S3_SECRET_ACCESS_KEY,
  });
}

export function attachmentServiceFor(
  config: Config,
  deps: { db: Database; catalog: ModelCatalog; logger: Logger; storage: AttachmentStorage },
): AttachmentService {
  return new AttachmentService({
    store: new DrizzleAttachmentStore(deps.db),
    storage: deps.storage,
    limits: {
      maxCount: config.ATTACHMENTS_MAX_COUNT,
      maxTotalBytes: Math.floor(config.ATTACHMENTS_MAX_MB * 1_000_000),
      maxTextTokens: config.ATTACHMENT_TEXT_MAX_TOKENS,
    },
    supportsVision: (model) => deps.catalog.supportsVision(model),
    models: () => deps.catalog.list(),
    logger: deps.logger,
  });
}

/** chat.send's body limit: the attachments in base64 (4 characters per 3 bytes) and 1 MiB for the rest. */
export function sendBodyLimit(config: Config): number {
  return Math.ceil((config.ATTACHMENTS_MAX_MB * 1_000_000 * 4) / 3) + 1024 * 1024;
}
