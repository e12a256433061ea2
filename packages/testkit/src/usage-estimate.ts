import { isRecord } from './json';

// Rough on purpose: tests need plausible, deterministic numbers, not a real tokenizer.
const CHARS_PER_TOKEN = 4;

const charsToTokens = (chars: number) => Math.ceil(chars / CHARS_PER_TOKEN);

function textLength(content: unknown): number {
  if (typeof content === 'string') return content.length;
  // Multimodal messages carry content as parts; only text parts count.
  if (Array.isArray(content)) {
    return content.reduce<number>((sum, part) => sum + (isRecord(part) ? textLength(part.text) : 0), 0);
  }
  return 0;
}

/** About one token per four characters of message text. */
export function estimatePromptTokens(messages: readonly unknown[]): number {
  return charsToTokens(messages.reduce<number>((sum, m) => sum + (isRecord(m) ? textLength(m.content) : 0), 0));
}

/** About one token per four characters of tool-call argument text. */
export function estimateArgumentTokens(argumentTexts: readonly string[]): number {
  return charsToTokens(argumentTexts.reduce((sum, args) => sum + args.length, 0));
}
