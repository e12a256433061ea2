import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { countTokens, truncateToTokens } from '../llm/token-count';
import type { AgentToolOutcome } from '../ports/agent-tools';
import type { LlmTool } from '../ports/llm-client';

/** What an OpenAI-compatible API accepts as a function's name. */
const MAX_NAME = 64;
const SEPARATOR = '__';

/**
 * The name an MCP tool is offered to the model under: `<server>__<tool>`, so two servers' tools,
 * and the memory tools (which have no `__`), never share a name. Characters a function name may
 * not hold become `_`; null when what is left is too long to stay unique once cut.
 */
export function exposedName(server: string, tool: string): string | null {
  const name = `${server}${SEPARATOR}${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return name.length <= MAX_NAME ? name : null;
}

export function serverPrefix(server: string): string {
  return `${server}${SEPARATOR}`;
}

/** The MCP tool as the model is offered it. */
export function toLlmTool(
  name: string,
  tool: { name: string; title?: string | undefined; description?: string | undefined; inputSchema: object },
): LlmTool {
  return {
    name,
    description: tool.description ?? tool.title ?? tool.name,
    // JSON Schema as the server gave it: MCP requires an object schema, the same shape OpenAI asks for.
    parameters: { ...(tool.inputSchema as Record<string, unknown>) },
  };
}

/**
 * The text the model reads of a result: text parts as they are, embedded text resources' text,
 * other parts (images, audio, binary resources) named but left out, since a tool message is text.
 * A result with no text gives its structured content as JSON.
 */
function resultText(result: CallToolResult): string {
  const parts = result.content.map((part) => {
    switch (part.type) {
      case 'text':
        return part.text;
      case 'resource':
        return 'text' in part.resource ? part.resource.text : `[binary resource ${part.resource.uri} left out]`;
      case 'resource_link':
        return `[resource ${part.uri}]`;
      default:
        return `[${part.type} (${part.mimeType}) left out]`;
    }
  });
  const text = parts.join('\n');
  if (text === '' && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return text;
}

/**
 * At most `maxTokens` of the text, with a note saying it was cut, so one tool's answer cannot fill
 * the model's window (and the step's reservation). Cut by characters first: tokenizing megabytes
 * only to keep the first few thousand tokens would cost more than the call.
 */
export function capText(text: string, maxTokens: number): string {
  const rough = text.length > maxTokens * 32 ? text.slice(0, maxTokens * 32) : text;
  if (rough === text && countTokens(text) <= maxTokens) return text;
  return `${truncateToTokens(rough, maxTokens)}\n[cut: the result was ${text.length} characters, over the limit of ${maxTokens} tokens]`;
}

export function toOutcome(result: CallToolResult, maxTokens: number): AgentToolOutcome {
  const text = capText(resultText(result), maxTokens);
  return result.isError ? { ok: false, result: { error: text } } : { ok: true, result: text };
}

export function failure(error: string): AgentToolOutcome {
  return { ok: false, result: { error } };
}
