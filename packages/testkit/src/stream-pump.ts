import { setTimeout as sleep } from 'node:timers/promises';
import type { Frame } from './reply-plan';

export interface Pacing {
  ttftMs: number;
  tokenIntervalMs: number;
}

/** Resolves false instead of throwing when the client went away; the timer is cleared either way. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  // No timer at all for zero delays: benchmarks push hundreds of streams a second through here.
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}

/**
 * Writes the frames with their pacing, except the last burst, which it returns so the caller can
 * end, drop or stall the stream with it. Frames with no delay between them go out as one write.
 * Resolves undefined if the client went away first.
 */
export async function pumpFrames(
  sink: { write(chunk: string): unknown },
  frames: readonly Frame[],
  pacing: Pacing,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (!(await pause(pacing.ttftMs, signal))) return undefined;
  let pending = '';
  let sentToken = false;
  for (const frame of frames) {
    if (frame.token && sentToken && pacing.tokenIntervalMs > 0) {
      sink.write(pending);
      pending = '';
      if (!(await pause(pacing.tokenIntervalMs, signal))) return undefined;
    }
    pending += frame.text;
    sentToken ||= frame.token;
  }
  return signal.aborted ? undefined : pending;
}
