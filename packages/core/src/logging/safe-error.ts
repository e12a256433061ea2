import { DrizzleQueryError } from 'drizzle-orm';
import { AppError } from '../domain/errors';

/** What a log line holds of an error: never a statement's text or bound values, nor a row's values. */
export interface SafeError {
  type: string;
  message: string;
  /** SQLSTATE, a Node error code (ECONNRESET…) or the contract's code of an AppError. */
  code?: string;
  /** The kind of statement and its table (`insert into "messages"`), for a failed query. */
  statement?: string;
  constraint?: string;
  table?: string;
  column?: string;
  /** Only for an unexpected error. */
  stack?: string;
  cause?: SafeError;
}

/** The client went away or the request was cut: nothing is wrong with the server. */
const CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);
/** A service the server calls is down, unknown or slow: its failure is the service's, told as it is. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
]);
const MAX_MESSAGE = 500;
const MAX_DEPTH = 4;

function fieldOf(error: unknown, key: string): unknown {
  return error && typeof error === 'object' ? (error as Record<string, unknown>)[key] : undefined;
}

function stringField(error: unknown, key: string): string | undefined {
  const value = fieldOf(error, key);
  return typeof value === 'string' ? value : undefined;
}

/** A PostgreSQL error, from postgres.js or PGlite: it has a five-character SQLSTATE. */
function isDatabaseError(error: unknown): boolean {
  return /^[0-9A-Z]{5}$/.test(stringField(error, 'code') ?? '') && fieldOf(error, 'severity') !== undefined;
}

/**
 * A condition the server is built to meet (an AppError, an aborted request, a client that left, an
 * upstream that cannot be reached or does not answer in time),
 * logged without a stack and below error level. An INTERNAL AppError counts only when what caused
 * it does.
 */
export function isExpectedError(error: unknown): boolean {
  if (error instanceof AppError) {
    const cause = (error as { cause?: unknown }).cause;
    return error.appCode !== 'INTERNAL' || cause === undefined || isExpectedError(cause);
  }
  if (!(error instanceof Error)) return false;
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return true;
  const code = stringField(error, 'code') ?? '';
  if (CONNECTION_CODES.has(code) || UNAVAILABLE_CODES.has(code)) return true;
  // fetch's own failure says only "fetch failed"; what happened is its cause.
  return error instanceof TypeError && error.message === 'fetch failed' && isExpectedError(error.cause);
}

const WRITE = /\b(insert into|update|delete from) ("[^"]+"|[\w.]+)/g;

/**
 * `insert into "messages"`, `select from "runs"`: what a statement did to which tables, none of its
 * text. A `with` statement is told by the writes it holds (`with update conversations, insert into messages`).
 */
export function statementShape(query: string): string {
  const text = query.replace(/\s+/g, ' ').trim().toLowerCase();
  const writes = [...text.matchAll(WRITE)].map((match) => `${match[1]} ${match[2]}`);
  if (text.startsWith('with ') && writes.length > 0) return `with ${[...new Set(writes)].join(', ')}`;
  if (/^(insert|update|delete)\b/.test(text) && writes[0]) return writes[0];
  const read = /^(select|with)\b.*? from ("[^"]+"|[\w.]+)/.exec(text);
  if (read) return `select from ${read[2]}`;
  return text.split(' ')[0] ?? 'statement';
}

/** PostgreSQL quotes the value it could not take (`invalid input syntax for type uuid: "…"`), never an identifier after a colon or `value`. */
function withoutLiterals(message: string): string {
  return message.replace(/(: |\bvalue )"[^"]*"/g, '$1"[redacted]"').replace(/(: )'[^']*'/g, "$1'[redacted]'");
}

function safeMessage(error: unknown): string {
  if (error instanceof DrizzleQueryError) return 'a database statement failed';
  const message = error instanceof Error ? error.message : String(error);
  const shown = isDatabaseError(error) ? withoutLiterals(message) : message;
  return shown.length > MAX_MESSAGE ? `${shown.slice(0, MAX_MESSAGE)}…` : shown;
}

/** The stack's frames under a first line of our own: the original first line repeats the message. */
function safeStack(error: Error, type: string, message: string): string | undefined {
  const frames = error.stack?.split('\n').filter((line) => /^\s+at /.test(line));
  return frames?.length ? [`${type}: ${message}`, ...frames].join('\n') : undefined;
}

/**
 * The pino serializer for `err`: the error's type, a message without SQL or bound values, its code
 * and constraint, and the same of its causes. A stack only for an unexpected error.
 */
export function safeError(error: unknown, depth = 0): SafeError {
  const type = error instanceof Error ? (error.name !== 'Error' ? error.name : error.constructor.name) : typeof error;
  const message = safeMessage(error);
  const safe: SafeError = { type, message };
  const code = error instanceof AppError ? error.appCode : fieldOf(error, 'code');
  if (typeof code === 'string' || typeof code === 'number') safe.code = String(code);
  if (error instanceof DrizzleQueryError) safe.statement = statementShape(error.query);
  if (isDatabaseError(error)) {
    for (const key of ['constraint', 'table', 'column'] as const) {
      // PGlite names them as PostgreSQL's protocol does; postgres.js adds `_name`.
      const value = stringField(error, key) ?? stringField(error, `${key}_name`);
      if (value) safe[key] = value;
    }
  }
  if (error instanceof Error && !isExpectedError(error)) {
    const stack = safeStack(error, type, message);
    if (stack) safe.stack = stack;
  }
  const cause = fieldOf(error, 'cause');
  if (cause !== undefined && depth < MAX_DEPTH) safe.cause = safeError(cause, depth + 1);
  return safe;
}
