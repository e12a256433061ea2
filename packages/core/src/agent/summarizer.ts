import type { LlmClient, LlmMessage } from '../ports/llm-client';

export const SUMMARIZER_INSTRUCTIONS =
  'You are summarizing the earlier part of a conversation between a person and their personal agent, ' +
  "for the agent's own memory. Write a concise plain-text summary (at most 200 words) of what matters: " +
  'facts about the person, decisions made, questions still open. Fold in the earlier summary if there is one.';

const MAX_CHARS_PER_MESSAGE = 2_000;

export interface SummaryResult {
  summary: string;
  usage: { promptTokens: number; completionTokens: number } | null;
}

/** Asks the model to fold `evicted` (and the previous summary) into a new summary. */
export async function summarize(
  llm: LlmClient,
  model: string,
  previous: string | null,
  evicted: ReadonlyArray<{ role: string; content: string }>,
  signal: AbortSignal,
): Promise<SummaryResult> {
  const transcript = evicted
    .map(
      (m) =>
        `${m.role}: ${m.content.length > MAX_CHARS_PER_MESSAGE ? `${m.content.slice(0, MAX_CHARS_PER_MESSAGE)}…` : m.content}`,
    )
    .join('\n');
  const messages: LlmMessage[] = [
    { role: 'system', content: SUMMARIZER_INSTRUCTIONS },
    { role: 'user', content: `${previous ? `Earlier summary:\n${previous}\n\n` : ''}Messages:\n${transcript}` },
  ];
  let summary = '';
  let usage: SummaryResult['usage'] = null;
  for await (const event of llm.stream({ model, messages, signal, maxTokens: 400 })) {
    if (event.type === 'text') summary += event.text;
    else if (event.type === 'usage') usage = event;
  }
  return { summary: summary.trim(), usage };
}
