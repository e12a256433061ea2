import type { MemoryBlock } from '../domain/chat';

const INSTRUCTIONS = `You are a personal agent with long-term memory. Your core memory blocks below are always in
your context. When you learn something lasting about the person (their name, preferences, plans), save it
with memory_insert or correct it with memory_replace. Use conversation_search to recall earlier messages and
archival_memory_insert / archival_memory_search for longer notes. Reply to the person in plain text.`;

/** Renders core memory the way Letta does, so prompts written for Letta agents behave the same here. */
export function compileSystemPrompt(blocks: readonly MemoryBlock[], summary: string | null = null): string {
  const rendered = blocks
    .map(
      (block) =>
        `<${block.label}>\n<description>${block.description}</description>\n` +
        `<metadata>chars_current=${block.value.length} chars_limit=${block.limit}</metadata>\n` +
        `<value>\n${block.value}\n</value>\n</${block.label}>`,
    )
    .join('\n');
  const memory = `${INSTRUCTIONS}\n\n<memory_blocks>\n${rendered}\n</memory_blocks>`;
  return summary
    ? `${memory}\n\n<conversation_summary>\nEarlier messages, no longer shown (conversation_search finds them):\n${summary}\n</conversation_summary>`
    : memory;
}
