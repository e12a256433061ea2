import { type ServerResponse, STATUS_CODES } from 'node:http';
import { sendJson } from './http-io';
import { isRecord } from './json';
import { errorBody, newCompletionMeta } from './openai-wire';
import { buildCompletion, planStream, resolveReply, scriptedCut } from './reply-plan';
import { type Pacing, pause, pumpFrames } from './stream-pump';
import type { LlmReplyScript, LlmRequestRecord } from './types';

const wantsUsage = (record: LlmRequestRecord) =>
  isRecord(record.streamOptions) && record.streamOptions.include_usage === true;

/** Plays one reply script onto the response, as a stream or a single body depending on the request. */
export async function playReply(
  res: ServerResponse,
  record: LlmRequestRecord,
  script: LlmReplyScript,
  defaults: Pacing,
  signal: AbortSignal,
): Promise<void> {
  const pacing: Pacing = {
    ttftMs: script.ttftMs ?? defaults.ttftMs,
    tokenIntervalMs: script.tokenIntervalMs ?? defaults.tokenIntervalMs,
  };
  if (script.error) {
    if (!(await pause(pacing.ttftMs, signal))) return;
    const { status, message, type, code, param } = script.error;
    const body = errorBody(
      message ?? STATUS_CODES[status] ?? `HTTP ${status}`,
      type ?? (status >= 500 ? 'server_error' : 'invalid_request_error'),
      code ?? null,
      param ?? null,
    );
    sendJson(res, status, body);
    return;
  }

  const reply = resolveReply(script, record.messages, record.maxTokens);
  const meta = newCompletionMeta(record.model);
  const cut = scriptedCut(script);

  if (!record.stream) {
    // A non-streamed answer arrives when its last token would have been generated.
    const tokens = reply.reasoningTokens.length + reply.contentTokens.length;
    const generationMs = pacing.ttftMs + pacing.tokenIntervalMs * Math.max(0, tokens - 1);
    if (!(await pause(generationMs, signal))) return;
    if (cut?.ending === 'disconnect') res.destroy();
    else if (cut?.ending !== 'stall') sendJson(res, 200, buildCompletion(reply, meta));
    return;
  }

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  // Headers go out at once, as OpenAI's do, so a slow first token exercises the client's stream
  // idle handling rather than its connect timeout.
  res.flushHeaders();
  const plan = planStream(reply, meta, wantsUsage(record), cut);
  const tail = await pumpFrames(res, plan.frames, pacing, signal);
  if (tail === undefined) return;
  switch (plan.ending) {
    case 'finish':
      res.end(tail);
      return;
    case 'disconnect':
      // Destroy only once the tail reached the socket, so the client really sees the tokens before the drop.
      res.write(tail, () => res.destroy());
      return;
    case 'stall':
      res.write(tail);
      return;
  }
}
