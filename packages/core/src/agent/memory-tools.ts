import { z } from 'zod';
import type { MemoryBlock } from '../domain/chat';
import { isAppError } from '../domain/errors';
import type { AgentRecord, AgentRepository, WrittenBlock } from '../ports/agent-repository';
import type { LlmTool } from '../ports/llm-client';
import type { MemoryAuthor } from '../ports/memory-version-repository';

/** The tools the built-in runtime offers the model, named and shaped as Letta's. */
export const MEMORY_TOOLS: readonly LlmTool[] = [
  {
    name: 'memory_insert',
    description: 'Insert text into a core memory block at a line (default: the end).',
    parameters: {
      type: 'object',
      properties: {
        label: { type: 'string', description: 'Block label, e.g. human or persona.' },
        new_string: { type: 'string', description: 'Text to insert.' },
        insert_line: { type: 'integer', description: 'Line number to insert after; -1 for the end.', default: -1 },
      },
      required: ['label', 'new_string'],
    },
  },
  {
    name: 'memory_replace',
    description: 'Replace text in a core memory block. old_string must occur exactly once.',
    parameters: {
      type: 'object',
      properties: {
        label: { type: 'string' },
        old_string: { type: 'string' },
        new_string: { type: 'string' },
      },
      required: ['label', 'old_string', 'new_string'],
    },
  },
  {
    name: 'conversation_search',
    description: 'Search every earlier message with the person, including ones no longer in context.',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string' },
        roles: { type: 'array', items: { type: 'string', enum: ['user', 'assistant'] } },
        limit: { type: 'integer', default: 5 },
      },
      required: ['query'],
    },
  },
  {
    name: 'archival_memory_insert',
    description: 'Store a passage in archival memory for later search.',
    parameters: {
      type: 'object',
      properties: { content: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
      required: ['content'],
    },
  },
  {
    name: 'archival_memory_search',
    description: 'Search archival memory by full text.',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string' },
        tags: { type: 'array', items: { type: 'string' } },
        top_k: { type: 'integer', default: 5 },
      },
      required: ['query'],
    },
  },
];

const schemas = {
  memory_insert: z.object({ label: z.string(), new_string: z.string(), insert_line: z.number().int().default(-1) }),
  memory_replace: z.object({ label: z.string(), old_string: z.string().min(1), new_string: z.string() }),
  conversation_search: z.object({
    query: z.string().min(1),
    roles: z.array(z.enum(['user', 'assistant'])).default([]),
    limit: z.number().int().min(1).max(50).default(5),
  }),
  archival_memory_insert: z.object({ content: z.string().min(1).max(20_000), tags: z.array(z.string()).default([]) }),
  archival_memory_search: z.object({
    query: z.string().min(1),
    tags: z.array(z.string()).default([]),
    top_k: z.number().int().min(1).max(50).default(5),
  }),
};

export interface ToolOutcome {
  ok: boolean;
  result: unknown;
  /** Set when the tool changed core memory: the system prompt must be rebuilt. */
  written?: WrittenBlock;
}

export interface ToolScope {
  agent: AgentRecord;
  store: AgentRepository;
  /** Whom a change of memory is recorded as: the agent, in this run. */
  author: Extract<MemoryAuthor, { by: 'agent' }>;
}

/**
 * Runs one tool call. Every failure (unknown tool, arguments that do not parse, a replace that does
 * not match, a block over its limit) comes back as a result for the model to read, never as a crash.
 */
export async function runTool(name: string, rawArguments: string, scope: ToolScope): Promise<ToolOutcome> {
  if (!(name in schemas)) return failure(`Unknown tool "${name}". Available: ${Object.keys(schemas).join(', ')}.`);
  let json: unknown;
  try {
    json = rawArguments.trim() ? JSON.parse(rawArguments) : {};
  } catch {
    return failure('The arguments are not valid JSON.');
  }
  try {
    switch (name) {
      case 'memory_insert': {
        const args = parse(schemas.memory_insert, json);
        const block = await findBlock(scope, args.label);
        const lines = block.value === '' ? [] : block.value.split('\n');
        const at = args.insert_line < 0 || args.insert_line > lines.length ? lines.length : args.insert_line;
        lines.splice(at, 0, args.new_string);
        return written(await scope.store.writeBlock(scope.agent, args.label, lines.join('\n'), scope.author));
      }
      case 'memory_replace': {
        const args = parse(schemas.memory_replace, json);
        const block = await findBlock(scope, args.label);
        const count = block.value.split(args.old_string).length - 1;
        if (count !== 1) {
          return failure(`old_string occurs ${count} times in "${args.label}"; it must occur exactly once.`);
        }
        const value = block.value.replace(args.old_string, () => args.new_string);
        return written(await scope.store.writeBlock(scope.agent, args.label, value, scope.author));
      }
      case 'conversation_search': {
        const args = parse(schemas.conversation_search, json);
        const hits = await scope.store.searchMessages(scope.agent.userId, args.query, args.roles, args.limit);
        return {
          ok: true,
          result: hits.map((h) => ({ role: h.role, content: h.content, at: h.createdAt.toISOString() })),
        };
      }
      case 'archival_memory_insert': {
        const args = parse(schemas.archival_memory_insert, json);
        return { ok: true, result: { id: await scope.store.insertPassage(scope.agent.id, args.content, args.tags) } };
      }
      default: {
        const args = parse(schemas.archival_memory_search, json);
        return {
          ok: true,
          result: await scope.store.searchPassages(scope.agent.id, args.query, args.tags, args.top_k),
        };
      }
    }
  } catch (error) {
    if (error instanceof ToolArgumentError || isAppError(error)) return failure(error.message);
    throw error;
  }
}

class ToolArgumentError extends Error {}

function parse<T extends z.ZodType>(schema: T, json: unknown): z.output<T> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw new ToolArgumentError(`Invalid arguments: ${z.prettifyError(parsed.error).replaceAll('\n', ' ')}`);
}

async function findBlock(scope: ToolScope, label: string): Promise<MemoryBlock> {
  const block = (await scope.store.blocks(scope.agent.id)).find((b) => b.label === label);
  if (!block) throw new ToolArgumentError(`There is no memory block "${label}".`);
  return block;
}

function written(change: WrittenBlock): ToolOutcome {
  const { block } = change;
  return { ok: true, result: { label: block.label, chars: block.value.length, limit: block.limit }, written: change };
}

function failure(error: string): ToolOutcome {
  return { ok: false, result: { error } };
}
