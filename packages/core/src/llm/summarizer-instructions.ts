/**
 * The summariser's system prompt. It lives under llm/, not with the summariser in agent/, because the
 * offline model recognises a summary request by it, and a model must not depend on the agent above it.
 */
export const SUMMARIZER_INSTRUCTIONS =
  'You are summarizing the earlier part of a conversation between a person and their personal agent, ' +
  "for the agent's own memory. Write a concise plain-text summary (at most 200 words) of what matters: " +
  'facts about the person, decisions made, questions still open. Fold in the earlier summary if there is one.';
