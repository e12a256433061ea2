import { countMessageTokens } from '../llm/token-count';
import type { LlmMessage } from '../ports/llm-client';

const COMPACT_ABOVE = 0.9;
const COMPACT_TO = 0.7;

/** A token is at least one character, so a prompt with fewer characters than the budget cannot exceed it. */
function fits(messages: readonly LlmMessage[], budget: number): boolean {
  const characters = messages.reduce((n, m) => n + (m.content?.length ?? 0) + 16, 0);
  return characters <= budget || countMessageTokens(messages) <= budget;
}

/**
 * Letta's rule: once the prompt passes 90% of the window, the oldest messages leave it until 70%
 * remains, cut so that what stays starts with a user message. Returns how many of `history`'s
 * oldest messages to evict: 0 when the prompt fits.
 */
export function messagesToEvict(
  system: LlmMessage,
  history: readonly LlmMessage[],
  current: readonly LlmMessage[],
  contextWindow: number,
): number {
  if (fits([system, ...history, ...current], contextWindow * COMPACT_ABOVE)) return 0;
  for (let start = 1; start < history.length; start += 1) {
    if (history[start]?.role !== 'user') continue;
    if (fits([system, ...history.slice(start), ...current], contextWindow * COMPACT_TO)) return start;
  }
  return history.length;
}

/**
 * The last resort inside a turn (tool results can grow the prompt after compaction): drop the
 * oldest non-system messages until the prompt fits the window.
 */
export function trimToWindow(messages: LlmMessage[], contextWindow: number): LlmMessage[] {
  const [system, ...rest] = messages;
  if (!system || fits(messages, contextWindow * COMPACT_ABOVE)) return messages;
  let start = 0;
  while (start < rest.length - 1 && !fits([system, ...rest.slice(start)], contextWindow * COMPACT_TO)) start += 1;
  return [system, ...rest.slice(start)];
}
