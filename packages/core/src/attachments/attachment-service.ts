import { randomUUID } from 'node:crypto';
import type { Attachment, AttachmentInfo, AttachmentLimits, AttachmentUpload } from '../domain/attachment';
import type { Conversation, HistoryMessage, ModelInfo, RunStatus } from '../domain/chat';
import { AppError } from '../domain/errors';
import type { AuthenticatedUser } from '../domain/user';
import { countTokens, truncateToTokens } from '../llm/token-count';
import type { TurnAttachment } from '../ports/agent-runtime';
import type { AttachmentRecord, AttachmentRepository } from '../ports/attachment-repository';
import type { AttachmentStorage } from '../ports/attachment-storage';
import type { AttachmentOperations } from '../ports/attachments';
import type {
  ChatOperations,
  EditInput,
  PreparedAttachments,
  RegenerateInput,
  SendInput,
  SendOrigin,
  SendResult,
  StreamedEvent,
} from '../ports/chat';
import { inspect, pdfText } from './inspect';

const infoOf = (row: AttachmentRecord): AttachmentInfo => ({
  id: row.id,
  name: row.name,
  type: row.mediaType,
  size: row.sizeBytes,
  kind: row.kind,
  truncated: row.truncated,
});

export interface AttachmentLogger {
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface AttachmentServiceOptions {
  store: AttachmentRepository;
  storage: AttachmentStorage;
  limits: AttachmentLimits;
  /** Whether a model reads images (its price-map entry's `supports_vision`). */
  supportsVision(model: string): boolean;
  /** The offered models, to name those that read images in an error. */
  models(): readonly ModelInfo[];
  /**
   * Why the agent backend cannot take images at all (null: it can). Letta's message API takes them
   * (image content parts), so this is for a backend that cannot.
   */
  imagesRefusedBecause?: string | null;
  logger: AttachmentLogger;
}

/** One upload checked and read, ready to be stored and put into the turn. */
interface PreparedFile {
  id: string;
  key: string;
  name: string;
  mediaType: string;
  kind: 'image' | 'text';
  bytes: Uint8Array;
  text: string | null;
  truncated: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function invalid(message: string): AppError {
  return new AppError('INVALID_INPUT', message, { fieldErrors: { attachments: [message] } });
}

const megabytes = (bytes: number) =>
  bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1).replace(/\.0$/, '')} MB` : `${Math.ceil(bytes / 1_000)} KB`;

/**
 * Attachments: checks what a send carries (count, size, type by the bytes' magic numbers), reads
 * the text of text-like files (PDFs through PDF.js) within the per-message token limit, stores the
 * bytes through the storage port and their details in the `attachments` table, and answers
 * chat.attachment. Nothing of a file's content is ever logged: ids, sizes and types only.
 */
export class AttachmentService implements AttachmentOperations {
  constructor(private readonly options: AttachmentServiceOptions) {}

  get limits(): AttachmentLimits {
    return this.options.limits;
  }

  /** Checks and reads the uploads of one send; stores nothing. Bad input: INVALID_INPUT naming the file. */
  async prepare(uploads: readonly AttachmentUpload[]): Promise<PreparedFile[]> {
    const { maxCount, maxTotalBytes, maxTextTokens } = this.options.limits;
    if (uploads.length > maxCount) throw invalid(`At most ${maxCount} attachments can be sent with one message.`);
    const decoded = uploads.map((upload, index) => {
      const field = `attachments[${index}] "${upload.name}"`;
      const data = upload.data.replace(/\s+/g, '');
      if (!BASE64.test(data) || data.length % 4 === 1) throw invalid(`${field}: data is not base64.`);
      const bytes = new Uint8Array(Buffer.from(data, 'base64'));
      if (bytes.byteLength === 0) throw invalid(`${field}: the file is empty.`);
      return { upload, field, bytes };
    });
    const total = decoded.reduce((sum, file) => sum + file.bytes.byteLength, 0);
    if (total > maxTotalBytes) {
      throw invalid(
        `The attachments of one message may be ${megabytes(maxTotalBytes)} in all; these are ${megabytes(total)}.`,
      );
    }
    let tokensLeft = maxTextTokens;
    const files: PreparedFile[] = [];
    for (const { upload, field, bytes } of decoded) {
      const { kind, mediaType } = inspect(bytes, upload.type, upload.name, field);
      let text: string | null = null;
      let truncated = false;
      if (kind === 'text') {
        const full = mediaType === 'application/pdf' ? await pdfText(bytes, field) : new TextDecoder().decode(bytes);
        const kept = truncateToTokens(full, tokensLeft);
        truncated = kept.length < full.length;
        text = truncated
          ? `${kept}\n[… truncated: the rest of "${upload.name}" is over the ${maxTextTokens}-token limit for one message's attachments]`
          : kept;
        tokensLeft = Math.max(0, tokensLeft - countTokens(kept));
      }
      const id = randomUUID();
      files.push({ id, key: '', name: upload.name, mediaType, kind, bytes, text, truncated });
    }
    return files;
  }

  /** Refuses images for a model that cannot read them, before anything is stored or billed. */
  checkModel(model: string, files: readonly PreparedFile[]): void {
    if (!files.some((file) => file.kind === 'image')) return;
    const { imagesRefusedBecause } = this.options;
    if (imagesRefusedBecause) throw invalid(imagesRefusedBecause);
    if (this.options.supportsVision(model)) return;
    const vision = this.options
      .models()
      .filter((info) => info.supportsVision)
      .map((info) => info.id);
    throw invalid(
      `The model "${model}" cannot read images. ${
        vision.length > 0 ? `Models here that can: ${vision.join(', ')}.` : 'No model offered here can.'
      }`,
    );
  }

  /** Stores the bytes (before the message: a storage that fails fails the send, and leaves nothing). */
  async putBytes(userId: string, files: PreparedFile[]): Promise<void> {
    const stored: string[] = [];
    try {
      for (const file of files) {
        file.key = `${userId}/${file.id}`;
        await this.options.storage.put({ key: file.key, userId, mediaType: file.mediaType, bytes: file.bytes });
        stored.push(file.key);
      }
    } catch (error) {
      await this.dropBytes(stored);
      throw error;
    }
  }

  async dropBytes(keys: readonly string[]): Promise<void> {
    await this.options.storage.delete(keys).catch((error: unknown) => {
      this.options.logger.warn({ err: error, count: keys.length }, 'could not delete the bytes of attachments');
    });
  }

  async record(userId: string, messageId: string, files: readonly PreparedFile[]): Promise<void> {
    await this.options.store.insert(
      files.map((file, position) => ({
        id: file.id,
        userId,
        messageId,
        position,
        name: file.name,
        mediaType: file.mediaType,
        kind: file.kind,
        sizeBytes: file.bytes.byteLength,
        extractedText: file.text,
        truncated: file.truncated,
        storage: this.options.storage.kind,
        storageKey: file.key,
      })),
    );
  }

  async infosOf(userId: string, messageIds: readonly string[]): Promise<Map<string, AttachmentInfo[]>> {
    const rows = await this.options.store.ofMessages(userId, messageIds);
    return new Map([...rows].map(([messageId, list]) => [messageId, list.map(infoOf)]));
  }

  /** What a stored user message's files are to its turn (a regenerate answers it again). */
  async forTurn(userId: string, messageId: string): Promise<TurnAttachment[]> {
    const rows = (await this.options.store.ofMessages(userId, [messageId])).get(messageId) ?? [];
    const turn: TurnAttachment[] = [];
    for (const row of rows) {
      if (row.kind === 'text') {
        turn.push({
          kind: 'text',
          name: row.name,
          mediaType: row.mediaType,
          text: row.extractedText ?? '',
          truncated: row.truncated,
        });
      } else {
        const bytes = await this.options.storage.get(row.storageKey);
        if (bytes)
          turn.push({
            kind: 'image',
            name: row.name,
            mediaType: row.mediaType,
            data: Buffer.from(bytes).toString('base64'),
          });
      }
    }
    return turn;
  }

  async attachment(caller: AuthenticatedUser, id: string): Promise<Attachment> {
    const row = await this.options.store.find(caller.id, id);
    const bytes = row ? await this.options.storage.get(row.storageKey) : null;
    if (!row || !bytes) throw new AppError('NOT_FOUND', 'That attachment does not exist.');
    return withContent(row, bytes);
  }

  /** Every attachment of the user with its content, for the data export. */
  async *exportFor(userId: string): AsyncGenerator<Attachment> {
    for (const row of await this.options.store.ofUser(userId)) {
      const bytes = await this.options.storage.get(row.storageKey);
      if (bytes) yield withContent(row, bytes);
    }
  }

  /** Before an account is deleted: the bytes in the storage (the rows go with the user's). */
  async deleteForUser(userId: string): Promise<void> {
    const rows = await this.options.store.ofUser(userId);
    await this.options.storage.delete(rows.map((row) => row.storageKey));
  }

  keysOfConversation(userId: string, conversationId: string): Promise<string[]> {
    return this.options.store.keysOfConversation(userId, conversationId);
  }
}

function withContent(row: AttachmentRecord, bytes: Uint8Array): Attachment {
  return {
    ...infoOf(row),
    messageId: row.messageId,
    createdAt: row.createdAt,
    text: row.extractedText,
    data: Buffer.from(bytes).toString('base64'),
  };
}

/**
 * The chat operations with attachments: a send's files are checked before the chat service sees
 * the send, their bytes stored right before its message (once the model is known to take them),
 * their details after it; the history lists each message's files; deleting a conversation deletes
 * its files' bytes. Everything else is the chat service's own.
 */
export class AttachmentChat implements ChatOperations {
  constructor(
    private readonly inner: ChatOperations,
    private readonly attachments: AttachmentService,
    private readonly logger: AttachmentLogger,
  ) {}

  async send(caller: AuthenticatedUser, input: SendInput, origin?: SendOrigin): Promise<SendResult> {
    const { attachments: uploads, prepared: _ignored, ...rest } = input;
    if (!uploads || uploads.length === 0) return this.inner.send(caller, rest, origin);
    const files = await this.attachments.prepare(uploads);
    let admitted = false;
    const prepared: PreparedAttachments = {
      items: files.map(
        (file): TurnAttachment =>
          file.kind === 'image'
            ? {
                kind: 'image',
                name: file.name,
                mediaType: file.mediaType,
                data: Buffer.from(file.bytes).toString('base64'),
              }
            : {
                kind: 'text',
                name: file.name,
                mediaType: file.mediaType,
                text: file.text ?? '',
                truncated: file.truncated,
              },
      ),
      admit: async (model) => {
        this.attachments.checkModel(model, files);
        // Called again when the default conversation had to be made anew: the bytes are stored once.
        if (admitted) return;
        await this.attachments.putBytes(caller.id, files);
        admitted = true;
      },
    };
    let result: SendResult;
    try {
      result = await this.inner.send(caller, { ...rest, prepared }, origin);
    } catch (error) {
      if (admitted) await this.attachments.dropBytes(files.map((file) => file.key));
      throw error;
    }
    if (admitted) {
      try {
        await this.attachments.record(caller.id, result.userMessage.id, files);
      } catch (error) {
        // The message is stored and its turn has its files: only the history will not list them.
        this.logger.error(
          { err: error, messageId: result.userMessage.id },
          'could not record the attachments of a message',
        );
        await this.attachments.dropBytes(files.map((file) => file.key));
        return result;
      }
    }
    const infos = await this.attachments.infosOf(caller.id, [result.userMessage.id]);
    return { ...result, userMessage: { ...result.userMessage, attachments: infos.get(result.userMessage.id) ?? [] } };
  }

  async history(
    caller: AuthenticatedUser,
    input: { conversationId?: string | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ messages: HistoryMessage[]; nextCursor: string | null }> {
    const page = await this.inner.history(caller, input);
    const userMessageIds = page.messages.filter((message) => message.role === 'user').map((message) => message.id);
    const infos = await this.attachments.infosOf(caller.id, userMessageIds);
    return {
      ...page,
      messages: page.messages.map((message) => ({ ...message, attachments: infos.get(message.id) ?? [] })),
    };
  }

  async deleteConversation(caller: AuthenticatedUser, conversationId: string): Promise<void> {
    const keys = await this.attachments.keysOfConversation(caller.id, conversationId);
    await this.inner.deleteConversation(caller, conversationId);
    await this.attachments.dropBytes(keys);
  }

  events(
    caller: AuthenticatedUser,
    runId: string,
    lastEventId: string | null | undefined,
    signal: AbortSignal,
  ): Promise<AsyncIterable<StreamedEvent>> {
    return this.inner.events(caller, runId, lastEventId, signal);
  }

  regenerate(caller: AuthenticatedUser, input: RegenerateInput, origin?: SendOrigin): Promise<SendResult> {
    return this.inner.regenerate(caller, input, origin);
  }

  editMessage(caller: AuthenticatedUser, input: EditInput, origin?: SendOrigin): Promise<SendResult> {
    return this.inner.editMessage(caller, input, origin);
  }

  switchBranch(caller: AuthenticatedUser, messageId: string): Promise<{ conversationId: string; leafId: string }> {
    return this.inner.switchBranch(caller, messageId);
  }

  cancel(caller: AuthenticatedUser, runId: string): Promise<{ runId: string; status: RunStatus }> {
    return this.inner.cancel(caller, runId);
  }

  conversations(
    caller: AuthenticatedUser,
    input: { cursor?: string | undefined; limit: number },
  ): Promise<{ conversations: Conversation[]; nextCursor: string | null }> {
    return this.inner.conversations(caller, input);
  }

  models(caller: AuthenticatedUser): Promise<{ models: ModelInfo[] }> {
    return this.inner.models(caller);
  }

  createConversation(
    caller: AuthenticatedUser,
    input: { title?: string | undefined; model?: string | undefined },
  ): Promise<Conversation> {
    return this.inner.createConversation(caller, input);
  }

  setConversationModel(caller: AuthenticatedUser, conversationId: string, model: string | null): Promise<Conversation> {
    return this.inner.setConversationModel(caller, conversationId, model);
  }

  renameConversation(caller: AuthenticatedUser, conversationId: string, title: string): Promise<Conversation> {
    return this.inner.renameConversation(caller, conversationId, title);
  }
}
