import { setTimeout as sleep } from 'node:timers/promises';
import type { LlmClient, LlmMessage, LlmRequest, LlmStreamEvent, LlmToolCall } from '../ports/llm-client';
import { splitWords } from './split-words';
import { SUMMARIZER_INSTRUCTIONS } from './summarizer-instructions';
import { firstWordsTitle, TITLE_INSTRUCTIONS } from './title-instructions';
import { countMessageTokens, countTokens } from './token-count';

export const OFFLINE_MODEL = 'hearth/offline';

/**
 * A deterministic stand-in for a language model, so a newcomer can try the whole flow without a key:
 * it streams word by word, costs nothing, and uses the memory tools the way a real agent would
 * ("my name is Ada" → memory_insert into `human`; "what's my name?" → answered from memory).
 */
export class OfflineModel implements LlmClient {
  readonly defaultModel = OFFLINE_MODEL;
  readonly isOffline = true;

  constructor(private readonly wordDelayMs = 0) {}

  async probe(): Promise<null> {
    return null;
  }

  async *stream(request: LlmRequest): AsyncIterable<LlmStreamEvent> {
    const reply = decide(request.messages, new Set(request.tools?.map((tool) => tool.name)));
    const words = reply.text ? splitWords(reply.text) : [];
    for (const word of words) {
      if (request.signal.aborted) throw new DOMException('The run was cancelled', 'AbortError');
      if (this.wordDelayMs > 0) await sleep(this.wordDelayMs, undefined, { signal: request.signal });
      yield { type: 'text', text: word };
    }
    if (reply.toolCall) yield { type: 'tool_calls', calls: [reply.toolCall] };
    yield {
      type: 'usage',
      promptTokens: countMessageTokens(request.messages),
      completionTokens: countTokens(reply.text) + (reply.toolCall ? countTokens(reply.toolCall.arguments) : 0),
    };
    yield { type: 'finish', reason: reply.toolCall ? 'tool_calls' : 'stop' };
  }
}

interface Reply {
  text: string;
  toolCall?: LlmToolCall;
}

const NAME_STATED = /\bmy name is\s+([\p{L}][\p{L}'’-]*)/iu;
const NAME_ASKED = /\bwhat(?:'|’)?s my name\b|\bwhat is my name\b|\bdo you (?:know|remember) my name\b/i;
const REMEMBER = /^\s*(?:please\s+)?remember(?: that)?\s+(.+?)[.!]?\s*$/i;

function decide(messages: readonly LlmMessage[], tools: Set<string>): Reply {
  if (messages[0]?.content === SUMMARIZER_INSTRUCTIONS) return { text: summarizeLines(messages.at(-1)?.content ?? '') };
  if (messages[0]?.content === TITLE_INSTRUCTIONS) return { text: firstWordsTitle(lastUserText(messages)) };
  const last = messages.at(-1);
  if (last?.role === 'tool') return afterTool(messages, last.content);

  const text = lastUserText(messages);
  const human = blockValue(messages, 'human');
  const knownName = /^Name: (.+)$/m.exec(human)?.[1]?.trim();

  const stated = NAME_STATED.exec(text)?.[1];
  if (stated) {
    if (knownName?.toLowerCase() === stated.toLowerCase()) return { text: `I know, ${knownName}: I remember you.` };
    if (tools.has('memory_insert')) return memoryInsert(`Name: ${stated}`);
  }
  if (NAME_ASKED.test(text)) {
    return {
      text: knownName
        ? `Your name is ${knownName}.`
        : 'I don\'t know your name yet. Tell me with "my name is …" and I\'ll remember it.',
    };
  }
  const note = REMEMBER.exec(text)?.[1];
  if (note && tools.has('memory_insert')) return memoryInsert(`Note: ${note}`);

  const attached = [...text.matchAll(/^\[Attached (?:image|file): (.+) \([^)]*\)\]$/gm)].map((m) => m[1]);
  if (attached.length > 0) {
    return {
      text: `I'm Hearth's offline demo model, so I can't read files, but I received ${attached.length === 1 ? 'one attachment' : `${attached.length} attachments`}: ${attached.join(', ')}.`,
    };
  }
  const quoted = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return {
    text: `I'm Hearth's offline demo model, so I can't really think, but I heard you: "${quoted}". Tell me your name and I'll remember it.`,
  };
}

function afterTool(messages: readonly LlmMessage[], result: string): Reply {
  const call = [...messages].reverse().find((m) => m.role === 'assistant' && m.toolCalls?.length);
  const args = call?.role === 'assistant' ? call.toolCalls?.[0]?.arguments : undefined;
  const inserted = args ? (JSON.parse(args) as { new_string?: string }).new_string : undefined;
  // Ours answer {"ok": true, …}; Letta packages a tool's return as {"status": "OK", …}.
  if (!/^ok\b|"ok":\s*true|"status":\s*"OK"/i.test(result)) {
    return { text: 'I tried to remember that, but my memory refused it.' };
  }
  const name = /^Name: (.+)$/.exec(inserted ?? '')?.[1];
  return { text: name ? `Nice to meet you, ${name}! I'll remember your name.` : "Noted. I'll remember that." };
}

/** A summary a reader can check: the user's own lines, shortened, newest last. */
function summarizeLines(request: string): string {
  const earlier = /^Earlier summary:\n([\s\S]*?)\n\nMessages:/.exec(request)?.[1];
  const said = [...request.matchAll(/^user: (.+)$/gm)].map((m) => (m[1] ?? '').slice(0, 80));
  const lines = [...(earlier ? [earlier] : []), ...said.map((line) => `The person said: "${line}".`)];
  return lines.slice(-12).join('\n');
}

let callCounter = 0;

function memoryInsert(line: string): Reply {
  callCounter += 1;
  return {
    text: '',
    toolCall: {
      id: `offline_call_${callCounter}`,
      name: 'memory_insert',
      arguments: JSON.stringify({ label: 'human', new_string: line }),
    },
  };
}

function lastUserText(messages: readonly LlmMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const message = messages[i];
    if (message?.role === 'user') return message.content;
  }
  return '';
}

function blockValue(messages: readonly LlmMessage[], label: string): string {
  const system = messages.find((m) => m.role === 'system')?.content ?? '';
  const block = new RegExp(`<${label}>[\\s\\S]*?<value>\\n?([\\s\\S]*?)\\n?</value>`).exec(system);
  return block?.[1] ?? '';
}
