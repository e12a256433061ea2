import { type DestinationStream, pino } from 'pino';

/**
 * Structured JSON logs. Redaction is a second line of defence: request bodies and headers are
 * never logged in the first place.
 */
export function createLogger(level: string, destination?: DestinationStream) {
  return pino(
    {
      level,
      base: { service: 'hearth' },
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
