import { meteredStep } from '../agent/metered-step';
import { isAppError } from '../domain/errors';
import { TITLE_INSTRUCTIONS } from '../llm/title-instructions';
import type { Ledger } from '../ports/ledger';
import type { LlmClient } from '../ports/llm-client';

export interface TitleWriterOptions {
  /** Hearth's own model client: the offline model writes a deterministic title (the message's first words). */
  llm: LlmClient;
  ledger: Ledger;
  /**
   * The model every title is written with (Letta: Hearth's own model, not the agent's, which runs
   * inside Letta). Unset: the model answering the run, at its price.
   */
  model?: string | undefined;
  /** The key a user's model traffic is sent with, when a billing proxy gives each user one. */
  apiKeyFor?: ((userId: string) => Promise<string>) | undefined;
  logger: { warn(fields: object, message?: string): void };
}

export interface TitleRequest {
  userId: string;
  runId: string;
  /** The model the run answers with. */
  model: string;
  /** The conversation's first message. */
  text: string;
  signal: AbortSignal;
  /** See AgentTurn.accepted: a title of a send never stored is released unbilled. */
  accepted: Promise<boolean>;
}

/** Titles are short: a runaway answer is cut here, and so is its bill. */
const TITLE_MAX_TOKENS = 24;
const TITLE_MAX_CHARACTERS = 80;
/** The part of the message the model reads: a title needs the opening, not a pasted file. */
const MESSAGE_MAX_CHARACTERS = 2_000;

/**
 * Writes a conversation's title from its first message: one metered model call (reserved under
 * the user's budget, settled to a usage record like any step). Never throws: a title that cannot
 * be written (no budget left, the provider failing, a cancel) is no title, and the run goes on.
 */
export class TitleWriter {
  constructor(private readonly options: TitleWriterOptions) {}

  async write(request: TitleRequest): Promise<string | null> {
    const { llm, ledger, logger } = this.options;
    const model = this.options.model ?? request.model;
    try {
      const apiKey = await this.options.apiKeyFor?.(request.userId);
      const { text } = await meteredStep(
        llm,
        ledger,
        {
          userId: request.userId,
          runId: request.runId,
          model,
          messages: [
            { role: 'system', content: TITLE_INSTRUCTIONS },
            { role: 'user', content: request.text.slice(0, MESSAGE_MAX_CHARACTERS) },
          ],
          maxOutputTokens: TITLE_MAX_TOKENS,
          signal: request.signal,
          apiKey,
          accepted: request.accepted,
        },
        () => {},
        () => {},
      );
      return cleanTitle(text);
    } catch (error) {
      // The budget refusing a title is expected; nothing else about it is worth more than a warning.
      if (!request.signal.aborted && !(isAppError(error) && error.appCode === 'BUDGET_EXCEEDED')) {
        logger.warn({ runId: request.runId, err: error }, 'could not write a conversation title');
      }
      return null;
    }
  }
}

/** The model's answer as a title: its first line, without quotes or a final full stop, at most 80 characters. */
export function cleanTitle(text: string): string | null {
  // What the store cannot hold (U+0000, a lone surrogate half) is dropped, as the API refuses it from a client.
  const storable = text
    .replaceAll('\u0000', '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '');
  const line =
    storable
      .split('\n')
      .map((part) => part.trim())
      .find(Boolean) ?? '';
  const unquoted = line
    .replace(/^(?:title:\s*)/i, '')
    .replace(/^["'“”‘’«»]+|["'“”‘’«»]+$/gu, '')
    .replace(/[.。]+$/u, '')
    .trim();
  if (!unquoted) return null;
  const chars = [...unquoted];
  return chars.length > TITLE_MAX_CHARACTERS
    ? `${chars
        .slice(0, TITLE_MAX_CHARACTERS - 1)
        .join('')
        .trimEnd()}…`
    : unquoted;
}
