const PG_UNIQUE_VIOLATION = '23505';

/** Whether a (possibly wrapped) driver error is a unique violation, optionally of one constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  let current = error;
  while (current && typeof current === 'object') {
    const { code, constraint: violated, constraint_name: violatedName } = current as Record<string, unknown>;
    if (code === PG_UNIQUE_VIOLATION) return !constraint || violated === constraint || violatedName === constraint;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** PostgreSQL could not be reached or refused the connection at start-up. */
export class StoreUnreachableError extends Error {
  override readonly name = 'StoreUnreachableError';
}

const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'no answer in time',
};

/** PostgreSQL's SQLSTATE classes a connection is refused with (the server's message names no secret). */
const SERVER_REASONS: Record<string, string> = {
  '28000': 'authentication failed',
  '28P01': 'authentication failed',
  '3D000': 'database missing',
  '53300': 'too many connections',
  '57P03': 'the server is starting up or shutting down',
};

/** Where a PostgreSQL URL points, without its user, password or options. */
export function postgresAddress(url: string): string {
  try {
    const { hostname, port } = new URL(url);
    return `${hostname || 'localhost'}:${port || '5432'}`;
  } catch {
    return 'the DATABASE_URL';
  }
}

/** Why a first connection failed, in a few words: the cause, never the SQL that was trying to run. */
export function connectionFailure(error: unknown, url: string, connectTimeoutSeconds: number): StoreUnreachableError {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const codeText = typeof code === 'string' ? code : '';
  let reason: string;
  if (codeText === 'CONNECT_TIMEOUT') reason = `no answer within ${connectTimeoutSeconds} s (CONNECT_TIMEOUT)`;
  else if (SOCKET_REASONS[codeText]) reason = `${SOCKET_REASONS[codeText]} (${codeText})`;
  else if (SERVER_REASONS[codeText]) reason = `${SERVER_REASONS[codeText]}: ${String(message)} (${codeText})`;
  else reason = codeText ? `${codeText}` : 'the connection failed';
  return new StoreUnreachableError(`cannot connect to PostgreSQL at ${postgresAddress(url)}: ${reason}`, {
    cause: error,
  });
}
