import type { Attachment } from '../domain/attachment';
import type { AuthenticatedUser } from '../domain/user';

/** chat.attachment: one of the caller's attachments, with its content. */
export interface AttachmentOperations {
  /** Not the caller's (or no such id): NOT_FOUND. */
  attachment(caller: AuthenticatedUser, id: string): Promise<Attachment>;
}
