import { SUMMARIZER_INSTRUCTIONS } from '../llm/summarizer-instructions';
import type { LlmMessage } from '../ports/llm-client';

const MAX_CHARS_PER_MESSAGE = 2_000;

/** The request that asks the model to fold `evicted` (and the previous summary) into a new summary. */
export function summaryRequest(
  previous: string | null,
  evicted: ReadonlyArray<{ role: string; content: string }>,
): LlmMessage[] {
  const transcript = evicted
    .map((m) => {
      const content =
        m.content.length > MAX_CHARS_PER_MESSAGE ? `${m.content.slice(0, MAX_CHARS_PER_MESSAGE)}…` : m.content;
      return `${m.role}: ${content}`;
    })
    .join('\n');
  return [
    { role: 'system', content: SUMMARIZER_INSTRUCTIONS },
    { role: 'user', content: `${previous ? `Earlier summary:\n${previous}\n\n` : ''}Messages:\n${transcript}` },
  ];
}
