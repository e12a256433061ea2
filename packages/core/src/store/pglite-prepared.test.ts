import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error the worker's helper is plain JavaScript (workers load without the TS loader)
import { PreparedStatements } from './pglite-prepared.mjs';

interface Result {
  rows: unknown[];
  fields: Array<{ name: string; dataTypeID: number }>;
  affectedRows?: number;
}
type Query = (sql: string, params?: unknown[], rowMode?: 'array' | 'object') => Promise<Result>;

describe('PreparedStatements', () => {
  let db: PGlite;
  let prepared: { query: Query };
  const direct: Query = (sql, params = [], rowMode = 'object') => db.query(sql, params, { rowMode });

  beforeAll(async () => {
    db = await PGlite.create();
    prepared = new PreparedStatements(db);
    await db.exec(`create table items (id int primary key, name text, tags text[], meta jsonb, at timestamptz,
                   flag boolean, price numeric, big bigint)`);
  });
  afterAll(() => db?.close());

  it('answers exactly as PGlite does, for every kind of value, in both row modes, run after run', async () => {
    const insert = 'insert into items values ($1, $2, $3, $4, $5, $6, $7, $8) returning *';
    const values = [
      1,
      "O'Brien\\n",
      ['a', 'b c'],
      { nested: [1, 'x'] },
      new Date('2026-01-02T03:04:05Z'),
      true,
      '1.50',
      42,
    ];
    const first = await prepared.query(insert, values);
    await db.query('delete from items');
    expect(first).toEqual(await direct(insert, values));
    await db.query('delete from items');
    await prepared.query(insert, values);
    await prepared.query(insert, [2, null, null, null, null, null, null, null]);
    for (const rowMode of ['object', 'array'] as const) {
      for (let run = 0; run < 3; run += 1) {
        const sql = 'select * from items where id = any($1) order by id';
        expect(await prepared.query(sql, [[1, 2]], rowMode)).toEqual(await direct(sql, [[1, 2]], rowMode));
      }
    }
  });

  it('counts the rows a statement changed, and passes non-data statements through', async () => {
    const update = await prepared.query('update items set flag = $1 where id > $2', [false, 0]);
    expect(update.affectedRows).toBe(2);
    expect(update.rows).toEqual([]);
    expect((await prepared.query('set local statement_timeout = 1000')).rows).toEqual([]);
  });

  it('raises database errors with their code and constraint, and stays usable', async () => {
    await expect(prepared.query('insert into items (id) values ($1)', [1])).rejects.toMatchObject({
      code: '23505',
      constraint: 'items_pkey',
    });
    expect((await prepared.query('select count(*)::int as n from items')).rows).toEqual([{ n: 2 }]);
  });

  it('prepares again when a table changes under a prepared statement', async () => {
    const sql = 'select * from items where id = $1';
    await prepared.query(sql, [1]);
    await db.exec('alter table items add column extra text');
    const after = await prepared.query(sql, [1]);
    expect(after.fields.map((field) => field.name)).toContain('extra');
  });
});
