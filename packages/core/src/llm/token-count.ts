import { countTokens as countO200k, decode, encode } from 'gpt-tokenizer';
import type { LlmMessage } from '../ports/llm-client';

/**
 * A turn counts its whole history (to fit the window and to reserve its cost) and the next turn
 * counts the same messages again; remembering counts makes that a lookup. Bounded by starting over.
 */
const counted = new Map<string, number>();
/** About 16 MB of text held at most. */
const MAX_COUNTED_CHARACTERS = 8_000_000;
let countedCharacters = 0;

/** Text that spells a special token (`<|endoftext|>`) is counted as the plain text it is, not refused. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** Tokens of a text under o200k_base (GPT-4o family): close enough for other models' budgets. */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  let tokens = counted.get(text);
  if (tokens === undefined) {
    tokens = countO200k(text, PLAIN_TEXT);
    if (countedCharacters + text.length > MAX_COUNTED_CHARACTERS) {
      counted.clear();
      countedCharacters = 0;
    }
    counted.set(text, tokens);
    countedCharacters += text.length;
  }
  return tokens;
}

/** The start of `text` that is at most `tokens` tokens long, counted as `countTokens` does. */
export function truncateToTokens(text: string, tokens: number): string {
  if (tokens <= 0) return '';
  if (countTokens(text) <= tokens) return text;
  return decode(encode(text, PLAIN_TEXT).slice(0, tokens));
}

/** Per-message framing tokens OpenAI documents for chat formats. */
const PER_MESSAGE_OVERHEAD = 4;

export function countMessageTokens(messages: readonly LlmMessage[]): number {
  let total = 3;
  for (const message of messages) {
    total += PER_MESSAGE_OVERHEAD;
    if (message.content) total += countTokens(message.content);
    if (message.role === 'assistant') {
      for (const call of message.toolCalls ?? []) total += countTokens(call.name) + countTokens(call.arguments);
    }
  }
  return total;
}
