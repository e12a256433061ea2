import { isExpectedError, safeError } from '@hearth/core';
import { type DestinationStream, type LogFn, pino } from 'pino';

const ERROR_LEVEL = 50;

/**
 * Structured JSON logs. Redaction is a second line of defence: request bodies and headers are
 * never logged in the first place. Errors go through `safeError`: no SQL text or bound values
 * (message text, emails), and a stack only for what the server did not expect.
 */
export function createLogger(level: string, destination?: DestinationStream) {
  return pino(
    {
      level,
      base: { service: 'hearth' },
      serializers: { err: safeError, error: safeError },
      hooks: {
        // An expected condition (an AppError, an abort, a client gone) is not an error of the
        // server's, wherever it is logged from: it is told at warn level.
        logMethod(this: pino.Logger, args: Parameters<LogFn>, method: LogFn, methodLevel: number) {
          const [fields] = args;
          const err = fields && typeof fields === 'object' ? (fields as { err?: unknown }).err : undefined;
          if (methodLevel >= ERROR_LEVEL && err !== undefined && isExpectedError(err)) {
            return this.warn(...(args as [object, string?]));
          }
          return method.apply(this, args);
        },
      },
      redact: {
        paths: [
          'password',
          '*.password',
          'accessToken',
          '*.accessToken',
          'refreshToken',
          '*.refreshToken',
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          '*.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    // Asynchronous writes by default: a synchronous write per request line costs more than the request.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export type Logger = ReturnType<typeof createLogger>;
