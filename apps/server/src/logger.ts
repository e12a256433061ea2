import { isExpectedError, safeError } from '@hearth/core';
import { type DestinationStream, type LogFn, pino } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

/** Unset LOG_FORMAT: lines for a person at a terminal or in development, JSON for a log collector. */
export function logFormatFor(config: { LOG_FORMAT?: LogFormat | undefined; NODE_ENV: string }): LogFormat {
  return config.LOG_FORMAT ?? (config.NODE_ENV === 'development' || process.stdout.isTTY ? 'pretty' : 'json');
}

const ERROR_LEVEL = 50;

/**
 * Structured logs with ISO times: JSON lines, or the same lines made readable by pino-pretty. Redaction is a second line of defence: request bodies and headers are
 * never logged in the first place. Errors go through `safeError`: no SQL text or bound values
 * (message text, emails), and a stack only for what the server did not expect.
 */
export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = 'json') {
  return pino(
    {
      level,
      base: { service: 'hearth' },
      timestamp: pino.stdTimeFunctions.isoTime,
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
    format === 'pretty'
      ? pretty({
          destination: destination ?? 1,
          colorize: !destination && Boolean(process.stdout.isTTY),
          ignore: 'pid,hostname,service',
          translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
        })
      : // Asynchronous writes: a synchronous write per request line costs more than the request.
        (destination ?? pino.destination({ dest: 1, sync: false })),
  );
}

export type Logger = ReturnType<typeof createLogger>;
