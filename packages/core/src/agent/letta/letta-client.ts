import { Letta } from '@letta-ai/letta-client';

export interface LettaClientOptions {
  /** The server's root, e.g. http://localhost:8283 (the client adds /v1/…). */
  baseUrl: string;
  /** Letta Cloud's key or a self-hosted server's password; none for an open self-hosted server. */
  apiKey: string | undefined;
  timeoutMs: number;
}

/**
 * The Letta client as Hearth uses it: no retries of its own, because a retried send would send the
 * message twice; Hearth fails the run as retryable instead.
 */
export function createLettaClient(options: LettaClientOptions): Letta {
  return new Letta({
    baseURL: options.baseUrl.replace(/\/+$/, ''),
    apiKey: options.apiKey ?? null,
    timeout: options.timeoutMs,
    maxRetries: 0,
    logLevel: 'off',
  });
}
