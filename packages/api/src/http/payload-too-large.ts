import type { Context } from 'hono';
import superjson from 'superjson';
import type { HearthErrorData } from '../errors';

export function payloadTooLargeMessage(maxBytes: number): string {
  const mib = (maxBytes / (1024 * 1024)).toFixed(maxBytes % (1024 * 1024) === 0 ? 0 : 1);
  return `The request body is larger than ${mib} MiB.`;
}

/**
 * The body limit answers before tRPC parses anything, so it writes tRPC's error envelope itself:
 * the SDK then sees an ordinary INVALID_INPUT error instead of an unparseable 413.
 */
export function payloadTooLarge(c: Context, maxBytes: number): Response {
  const message = payloadTooLargeMessage(maxBytes);
  const data: HearthErrorData = {
    appCode: 'INVALID_INPUT',
    code: 'PAYLOAD_TOO_LARGE',
    httpStatus: 413,
    fieldErrors: {},
    formErrors: [message],
  };
  // The rest of the body was never read, so this connection cannot carry another request.
  c.header('Connection', 'close');
  return c.json({ error: superjson.serialize({ message, code: -32013, data }) }, 413);
}
