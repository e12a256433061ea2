import { isRecord, parseJson } from './json';

/** One piece of a streamed chat completion, as a client of an OpenAI-compatible endpoint sees it. */
export type CompletionPiece =
  | { type: 'reasoning'; text: string }
  | { type: 'text'; text: string }
  | { type: 'tool_calls'; calls: Array<{ id: string; name: string; arguments: string }> }
  | { type: 'usage'; promptTokens: number; completionTokens: number };

/** The model endpoint answered with an error, or the stream broke off. */
export class CompletionFailed extends Error {
  override readonly name = 'CompletionFailed';
}

/**
 * Calls `POST {baseUrl}/chat/completions` with `stream: true` and yields what arrives: content,
 * reasoning, tool calls reassembled by index once the stream ends, and usage.
 */
export async function* streamCompletion(
  baseUrl: string,
  body: Record<string, unknown>,
  signal: AbortSignal,
): AsyncGenerator<CompletionPiece> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer fake-letta' },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new CompletionFailed(`the model endpoint is unreachable: ${String(error)}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new CompletionFailed(`the model endpoint answered ${response.status}`);
  }
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  let buffer = '';
  let done = false;
  const decoder = new TextDecoder();
  try {
    for await (const bytes of response.body) {
      buffer += decoder.decode(bytes as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const data = event
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trim())
          .join('\n');
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const parsed = parseJson(data);
        if (parsed.ok && isRecord(parsed.value)) yield* pieces(parsed.value, calls);
      }
    }
  } catch (error) {
    if (signal.aborted) throw error;
    throw new CompletionFailed(`the model stream broke off: ${String(error)}`);
  }
  if (!done) throw new CompletionFailed('the model stream ended without [DONE]');
  if (calls.size > 0) yield { type: 'tool_calls', calls: [...calls.values()] };
}

function* pieces(
  chunk: Record<string, unknown>,
  calls: Map<number, { id: string; name: string; arguments: string }>,
): Generator<CompletionPiece> {
  const usage = chunk.usage;
  if (isRecord(usage)) {
    yield {
      type: 'usage',
      promptTokens: Number(usage.prompt_tokens ?? 0),
      completionTokens: Number(usage.completion_tokens ?? 0),
    };
  }
  const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
  const delta = isRecord(choice) && isRecord(choice.delta) ? choice.delta : undefined;
  if (!delta) return;
  if (typeof delta.reasoning_content === 'string' && delta.reasoning_content) {
    yield { type: 'reasoning', text: delta.reasoning_content };
  }
  if (typeof delta.content === 'string' && delta.content) yield { type: 'text', text: delta.content };
  if (Array.isArray(delta.tool_calls)) {
    for (const part of delta.tool_calls) {
      if (!isRecord(part)) continue;
      const index = Number(part.index ?? 0);
      const call = calls.get(index) ?? { id: '', name: '', arguments: '' };
      const fn = isRecord(part.function) ? part.function : {};
      if (typeof part.id === 'string') call.id = part.id;
      if (typeof fn.name === 'string') call.name += fn.name;
      if (typeof fn.arguments === 'string') call.arguments += fn.arguments;
      calls.set(index, call);
    }
  }
}
