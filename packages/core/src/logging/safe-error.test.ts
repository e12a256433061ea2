import { DrizzleQueryError } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors';
import { isExpectedError, safeError, statementShape } from './safe-error';

const MARKER = 'marker-7f3a9c-ada@example.com';
const QUERY = 'insert into "messages" ("id", "content") values ($1, $2) returning "id"';

/** What PGlite and postgres.js throw for a refused row: the SQLSTATE, the constraint, the row's values in `detail`. */
function databaseError(message: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), {
    severity: 'ERROR',
    code: '23505',
    constraint: 'users_email_idx',
    table: 'users',
    detail: `Key (email)=(${MARKER}) already exists.`,
    query: QUERY,
    parameters: ['id-1', MARKER],
    ...fields,
  });
}

function failedQuery(cause: Error): DrizzleQueryError {
  return new DrizzleQueryError(QUERY, ['id-1', MARKER], cause);
}

describe('safeError', () => {
  it('keeps neither the bound values nor the SQL text of a failed Drizzle query, in any field or its stack', () => {
    const error = failedQuery(databaseError('duplicate key value violates unique constraint "users_email_idx"'));
    // Drizzle's own message and stack repeat the statement and its values.
    expect(error.message).toContain(MARKER);
    expect(error.stack).toContain(MARKER);

    const text = JSON.stringify(safeError(error));
    expect(text).not.toContain(MARKER);
    expect(text).not.toContain('values');
    expect(text).not.toContain('$1');
    expect(text).not.toContain('returning');
  });

  it("tells the statement's shape and the database's code and constraint", () => {
    const safe = safeError(
      failedQuery(databaseError('duplicate key value violates unique constraint "users_email_idx"')),
    );
    expect(safe).toMatchObject({
      type: 'DrizzleQueryError',
      statement: 'insert into "messages"',
      cause: { code: '23505', constraint: 'users_email_idx', table: 'users' },
    });
    expect(safe.cause?.message).toBe('duplicate key value violates unique constraint "users_email_idx"');
  });

  it("keeps an unexpected failure's stack frames, under a first line without values", () => {
    const safe = safeError(failedQuery(databaseError('boom')));
    expect(safe.stack?.split('\n')[0]).toBe('DrizzleQueryError: a database statement failed');
    expect(safe.stack).toMatch(/\n\s+at /);
    expect(safe.stack).not.toContain(MARKER);
  });

  it("reads postgres.js's names for the constraint and table", () => {
    const error = databaseError('duplicate key', {
      constraint: undefined,
      table: undefined,
      constraint_name: 'a_idx',
      table_name: 'a',
    });
    expect(safeError(error)).toMatchObject({ code: '23505', constraint: 'a_idx', table: 'a' });
  });

  it('hides a value the database quotes in its message', () => {
    const error = databaseError(`invalid input syntax for type uuid: "${MARKER}"`, { code: '22P02' });
    const safe = safeError(error);
    expect(safe.message).toBe('invalid input syntax for type uuid: "[redacted]"');
    expect(JSON.stringify(safe)).not.toContain(MARKER);
  });

  it('gives no stack for an expected condition', () => {
    const expected = [
      new AppError('RATE_LIMITED', 'Slow down.'),
      new AppError('UPSTREAM_UNAVAILABLE', 'The model provider could not be reached.', {}, { cause: new Error('x') }),
      new DOMException('cancelled', 'AbortError'),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }),
    ];
    for (const error of expected) {
      expect(isExpectedError(error)).toBe(true);
      expect(safeError(error).stack).toBeUndefined();
    }
  });

  it('counts an INTERNAL AppError as unexpected when what caused it is', () => {
    const error = new AppError('INTERNAL', 'The run failed.', {}, { cause: new RangeError('bad') });
    expect(isExpectedError(error)).toBe(false);
    expect(safeError(error).cause?.stack).toContain('RangeError: bad');
  });
});

describe('statementShape', () => {
  it('names what a statement did to which table, and nothing of its values', () => {
    expect(statementShape(QUERY)).toBe('insert into "messages"');
    expect(statementShape(`update "users" set "email" = $1 where "id" = $2`)).toBe('update "users"');
    expect(statementShape('select "id" from "runs" where "id" = $1')).toBe('select from "runs"');
    expect(
      statementShape(`with conv as (update conversations set x = 'y' returning id), msg as (
        insert into messages (id) select $1 from conv returning id) select id from msg`),
    ).toBe('with update conversations, insert into messages');
  });
});
