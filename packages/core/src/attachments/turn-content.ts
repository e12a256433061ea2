import type { TurnAttachment } from '../ports/agent-runtime';
import type { LlmImage } from '../ports/llm-client';

/**
 * The user message a model is sent for a turn with files: the text of each text-like file after
 * the user's own text, between markers naming it, and the images as image parts.
 */
export function withAttachments(
  text: string,
  attachments: readonly TurnAttachment[] | undefined,
): { content: string; images: LlmImage[] } {
  if (!attachments || attachments.length === 0) return { content: text, images: [] };
  const parts = [text];
  const images: LlmImage[] = [];
  for (const attachment of attachments) {
    if (attachment.kind === 'image') {
      images.push({ mediaType: attachment.mediaType, data: attachment.data });
      parts.push(`[Attached image: ${attachment.name} (${attachment.mediaType})]`);
    } else {
      parts.push(
        `[Attached file: ${attachment.name} (${attachment.mediaType})]\n${attachment.text}\n[End of ${attachment.name}]`,
      );
    }
  }
  return { content: parts.join('\n\n'), images };
}
