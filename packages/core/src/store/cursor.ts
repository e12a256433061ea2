import { z } from 'zod';
import { AppError } from '../domain/errors';

/** Where the next page of a user's conversations starts: after this activity time and id. */
export const conversationsCursor = z.strictObject({
  at: z.iso
    .datetime()
    .refine((at) => Number(at.slice(0, 4)) >= 1 && !Number.isNaN(Date.parse(at)), 'Not a time a page can start at.'),
  id: z.uuid(),
});

/** Where the next page of a conversation's history starts: before this message's seq. */
export const historyCursor = z.strictObject({ c: z.uuid(), s: z.int().min(1) });

/** One answer for every cursor that cannot be used here, so none tells whose or what it was. */
export const invalidCursor = () =>
  new AppError('INVALID_INPUT', 'That page cursor is not valid here.', {
    fieldErrors: { cursor: ['Pass a nextCursor this list returned, or none for the first page.'] },
  });

/** Opaque page cursors: base64url JSON. What a client sends back is checked again, never trusted. */
export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The cursor's position, or INVALID_INPUT (field `cursor`) for anything this list did not hand out. */
export function decodeCursor<T>(schema: z.ZodType<T>, cursor: string): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidCursor();
  return parsed.data;
}
