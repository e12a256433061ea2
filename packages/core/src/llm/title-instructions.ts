/**
 * The title writer's system prompt. It lives under llm/, as the summariser's does, because the
 * offline model recognises a title request by it.
 */
export const TITLE_INSTRUCTIONS =
  'Write a title for the conversation that starts with the message below: at most six words, in the ' +
  "message's language, no quotes, no final punctuation. Answer with the title alone.";

/** Words the offline model's deterministic title keeps of the user's first message. */
export const OFFLINE_TITLE_WORDS = 6;

/** The offline model's title: the first words of the message, on one line. */
export function firstWordsTitle(text: string): string {
  const words = text.trim().split(/\s+/u).filter(Boolean);
  const title = words.slice(0, OFFLINE_TITLE_WORDS).join(' ');
  return words.length > OFFLINE_TITLE_WORDS ? `${title}…` : title;
}
