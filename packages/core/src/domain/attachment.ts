/** What a file sent with a message is to the model: an image it looks at, or text put into its context. */
export type AttachmentKind = 'image' | 'text';

/** A file as a client sends it with chat.send: its bytes in base64. */
export interface AttachmentUpload {
  /** The file's name, as shown back in the history (1–255 characters). */
  name: string;
  /** The media type the client declares; the bytes must agree with it (they are sniffed). */
  type: string;
  /** The bytes, base64 (standard alphabet, padding optional). */
  data: string;
}

/** An attachment as a message lists it (chat.history, chat.send's userMessage). */
export interface AttachmentInfo {
  id: string;
  name: string;
  /** The media type its bytes were sniffed as. */
  type: string;
  /** Size in bytes (decoded). */
  size: number;
  kind: AttachmentKind;
  /** A text-like file cut short to fit the per-message token limit. */
  truncated: boolean;
}

/** One attachment with its content, as chat.attachment answers. */
export interface Attachment extends AttachmentInfo {
  messageId: string;
  createdAt: Date;
  /** The text put into the model's context (text-like files; a PDF's extracted text); null for an image. */
  text: string | null;
  /** The original bytes, base64. */
  data: string;
}

/** The attachment limits in force (ATTACHMENTS_* settings). */
export interface AttachmentLimits {
  maxCount: number;
  /** Decoded bytes of all of one message's attachments together. */
  maxTotalBytes: number;
  /** Tokens of extracted text one message may put into the context, all its files together. */
  maxTextTokens: number;
}
