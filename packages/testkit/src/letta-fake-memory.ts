import { randomUUID } from 'node:crypto';

/** A core memory block as the fake Letta keeps it (the fields of Letta's BlockResponse it uses). */
export interface FakeLettaBlock {
  id: string;
  label: string;
  value: string;
  limit: number;
  description: string | null;
  metadata: Record<string, unknown>;
}

const DEFAULT_LIMIT = 20_000;

export function newBlock(input: Record<string, unknown>): FakeLettaBlock {
  return {
    id: `block-${randomUUID()}`,
    label: String(input.label ?? ''),
    value: String(input.value ?? ''),
    limit: typeof input.limit === 'number' ? input.limit : DEFAULT_LIMIT,
    description: typeof input.description === 'string' ? input.description : null,
    metadata: typeof input.metadata === 'object' && input.metadata !== null ? { ...input.metadata } : {},
  };
}

/** Letta's error when a block would pass its limit (Block's validator). */
export const limitError = (block: FakeLettaBlock, length: number) =>
  `Edit failed: Exceeds ${block.limit} character limit (requested ${length})`;

/** Core memory in the system prompt, as Letta renders it: every block, its description and its size. */
export function renderSystemPrompt(blocks: readonly FakeLettaBlock[]): string {
  const rendered = blocks
    .map(
      (block) =>
        `<${block.label}>\n<description>${block.description ?? ''}</description>\n` +
        `<metadata>chars_current=${block.value.length} chars_limit=${block.limit}</metadata>\n` +
        `<value>\n${block.value}\n</value>\n</${block.label}>`,
    )
    .join('\n');
  return `You are a helpful self-improving agent with advanced memory (a fake Letta agent).\n\n<memory_blocks>\n${rendered}\n</memory_blocks>`;
}

/** The memory tools a letta_v1_agent gets, as offered to the model. */
export const MEMORY_TOOLS = [
  {
    type: 'function',
    function: {
      name: 'memory_insert',
      description: 'Insert text at a specific line in a memory block.',
      parameters: {
        type: 'object',
        properties: {
          label: { type: 'string' },
          new_string: { type: 'string' },
          insert_line: { type: 'integer' },
        },
        required: ['label', 'new_string'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'memory_replace',
      description: 'Replace text in a memory block; old_string must appear exactly once.',
      parameters: {
        type: 'object',
        properties: { label: { type: 'string' }, old_string: { type: 'string' }, new_string: { type: 'string' } },
        required: ['label', 'old_string', 'new_string'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'archival_memory_insert',
      description: 'Add a passage to archival memory, for later search.',
      parameters: {
        type: 'object',
        properties: { content: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
        required: ['content'],
      },
    },
  },
] as const;

/** One passage of an agent's archival memory, as Letta's Passage has it. */
export interface FakeLettaPassage {
  id: string;
  text: string;
  tags: string[];
  createdAt: string;
}

export function newPassage(text: string, tags: unknown): FakeLettaPassage {
  return {
    id: `passage-${randomUUID()}`,
    text,
    tags: Array.isArray(tags) ? tags.map(String) : [],
    createdAt: new Date().toISOString(),
  };
}

export const passageJson = (passage: FakeLettaPassage) => ({
  id: passage.id,
  text: passage.text,
  tags: passage.tags,
  created_at: passage.createdAt,
  is_deleted: false,
  embedding: null,
  embedding_config: null,
});

export interface ToolOutcome {
  ok: boolean;
  /** What the tool returned (Letta's ToolReturnMessage.tool_return). */
  text: string;
}

/** Runs one of Letta's memory tools on the agent's blocks, with Letta's rules and error texts. */
export function runMemoryTool(
  memory: { blocks: Map<string, FakeLettaBlock>; passages: FakeLettaPassage[] },
  name: string,
  rawArguments: string,
): ToolOutcome {
  const { blocks } = memory;
  let args: Record<string, unknown>;
  try {
    args = JSON.parse(rawArguments) as Record<string, unknown>;
  } catch {
    return { ok: false, text: `Error: the arguments of ${name} are not valid JSON` };
  }
  if (name === 'archival_memory_insert') {
    if (typeof args.content !== 'string' || !args.content) return { ok: false, text: 'Error: content is required' };
    memory.passages.push(newPassage(args.content, args.tags));
    return { ok: true, text: 'None' };
  }
  const block = blocks.get(String(args.label ?? ''));
  if (name !== 'memory_insert' && name !== 'memory_replace')
    return { ok: false, text: `Error: tool ${name} not found` };
  if (!block) return { ok: false, text: `Error: no memory block labelled "${String(args.label)}"` };
  let value: string;
  if (name === 'memory_insert') {
    const lines = block.value === '' ? [] : block.value.split('\n');
    const at = typeof args.insert_line === 'number' && args.insert_line >= 0 ? args.insert_line : lines.length;
    lines.splice(at, 0, String(args.new_string ?? ''));
    value = lines.join('\n');
  } else {
    const old = String(args.old_string ?? '');
    const count = old ? block.value.split(old).length - 1 : 0;
    if (count !== 1) {
      return {
        ok: false,
        text:
          count === 0
            ? `Error: No replacement was performed, old_string \`${old}\` did not appear verbatim in memory block with label \`${block.label}\`.`
            : `Error: No replacement was performed. Multiple occurrences of old_string \`${old}\` in lines.`,
      };
    }
    value = block.value.replace(old, String(args.new_string ?? ''));
  }
  if (value.length > block.limit) return { ok: false, text: `Error: ${limitError(block, value.length)}` };
  block.value = value;
  return {
    ok: true,
    text: `The core memory block with label \`${block.label}\` has been edited. Review the changes and make sure they are as expected.`,
  };
}
