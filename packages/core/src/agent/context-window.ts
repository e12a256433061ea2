import { countMessageTokens } from '../llm/token-count';
import type { LlmMessage } from '../ports/llm-client';

/**
 * Keeps the prompt inside the model's window the way Letta does: once it passes 90%, the oldest
 * messages leave the context (cut so the kept part starts at a user message) until 70% remains.
 * They stay in the store, where conversation_search still finds them.
 */
export function fitToContext(system: LlmMessage, conversation: LlmMessage[], contextWindow: number): LlmMessage[] {
  const all = [system, ...conversation];
  // A token is at least one character, so a prompt with fewer characters than the budget cannot
  // exceed it: most turns skip tokenizing altogether.
  const characters = all.reduce((n, m) => n + (m.content?.length ?? 0) + 16, 0);
  if (characters <= contextWindow * 0.9 || countMessageTokens(all) <= contextWindow * 0.9) return all;
  const target = contextWindow * 0.7;
  let start = 0;
  while (start < conversation.length - 1 && countMessageTokens([system, ...conversation.slice(start)]) > target) {
    start += 1;
    while (start < conversation.length - 1 && conversation[start]?.role !== 'user') start += 1;
  }
  return [system, ...conversation.slice(start)];
}
