import { AppError } from '../domain/errors';

/** Opaque page cursors: base64url JSON. Their contents are checked again on use, never trusted. */
export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T extends Record<string, string | number>>(cursor: string, keys: (keyof T)[]): T {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as T;
    if (value && typeof value === 'object' && keys.every((key) => key in value)) return value;
  } catch {
    // fall through to the same answer as a cursor that does not belong to the caller
  }
  throw new AppError('NOT_FOUND', 'That page cursor is not known.');
}
