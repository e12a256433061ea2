import { type LlmReplyScript, type LlmTestServer, startLlmTestServer } from '@hearth/testkit';

export interface LlmFaultCounts {
  requests: number;
  /** Streams that went silent mid-answer (longer than the servers' LLM_IDLE_TIMEOUT_MS). */
  stalls: number;
  /** Streams whose socket was destroyed mid-answer. */
  resets: number;
}

export interface ChaosLlm {
  server: LlmTestServer;
  counts: LlmFaultCounts;
  /** Starts or stops injecting faults (off while users sign up and while the suite drains). */
  setFaulty(on: boolean): void;
}

export interface ChaosLlmOptions {
  /** Share of requests that stall mid-stream, 0..1. */
  stallRate: number;
  /** Share of requests whose connection is reset mid-stream, 0..1. */
  resetRate: number;
  /** Delay between tokens, so an answer lasts long enough for a kill to land in it. */
  tokenIntervalMs: number;
  random: () => number;
}

const WORDS = ['hearth', 'ember', 'kindling', 'flame', 'ash', 'smoke', 'glow', 'coal', 'spark', 'chimney'];

/**
 * The in-repo LLM test server with faults drawn per request: the testkit's `stallAfterTokens`
 * (an upstream that goes silent) and `disconnectAfterTokens` (a connection reset) cut a stream
 * after a random number of tokens. Each answer is numbered, so text shown twice would not look
 * like an answer that merely repeats itself.
 */
export async function startChaosLlm(options: ChaosLlmOptions): Promise<ChaosLlm> {
  const counts: LlmFaultCounts = { requests: 0, stalls: 0, resets: 0 };
  let faulty = false;
  const respond = (): LlmReplyScript => {
    counts.requests += 1;
    const length = 20 + Math.floor(options.random() * 40);
    const text = Array.from(
      { length },
      (_, i) => `${WORDS[Math.floor(options.random() * WORDS.length)]}${counts.requests}.${i}`,
    ).join(' ');
    const script: LlmReplyScript = { text, tokenIntervalMs: options.tokenIntervalMs };
    if (!faulty) return script;
    const draw = options.random();
    const cutAt = 1 + Math.floor(options.random() * length);
    if (draw < options.stallRate) {
      counts.stalls += 1;
      return { ...script, stallAfterTokens: cutAt };
    }
    if (draw < options.stallRate + options.resetRate) {
      counts.resets += 1;
      return { ...script, disconnectAfterTokens: cutAt };
    }
    return script;
  };
  const server = await startLlmTestServer({ respond });
  return {
    server,
    counts,
    setFaulty: (on) => {
      faulty = on;
    },
  };
}
