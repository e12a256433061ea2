import { countTokens as countO200k } from 'gpt-tokenizer';
import type { LlmMessage } from '../ports/llm-client';

/** Tokens of a text under o200k_base (GPT-4o family): close enough for other models' budgets. */
export function countTokens(text: string): number {
  return text.length === 0 ? 0 : countO200k(text);
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
