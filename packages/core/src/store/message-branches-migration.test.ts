import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';

const folder = fileURLToPath(new URL('./migrations', import.meta.url));
const files = readdirSync(folder)
  .filter((name) => name.endsWith('.sql'))
  .sort();

async function apply(db: PGlite, name: string) {
  for (const statement of readFileSync(`${folder}/${name}`, 'utf8').split('--> statement-breakpoint')) {
    if (statement.trim()) await db.exec(statement);
  }
}

describe('migration 0015 (message branches) on conversations stored before it', () => {
  const db = new PGlite();
  afterAll(() => db.close());

  it('links every conversation as one line, in the order stored, its newest message the leaf', async () => {
    const index = files.findIndex((name) => name.startsWith('0015_'));
    expect(index).toBeGreaterThan(0);
    for (const name of files.slice(0, index)) await apply(db, name);

    const user = crypto.randomUUID();
    await db.query(`insert into users (id, email) values ($1, 'm@example.com')`, [user]);
    const [lined, empty] = [crypto.randomUUID(), crypto.randomUUID()];
    for (const id of [lined, empty]) {
      await db.query('insert into conversations (id, user_id) values ($1, $2)', [id, user]);
    }
    const ids = Array.from({ length: 5 }, () => crypto.randomUUID());
    for (const [i, id] of ids.entries()) {
      await db.query(
        `insert into messages (id, user_id, conversation_id, role, content, status)
         values ($1, $2, $3, $4, $5, 'complete')`,
        [id, user, lined, i % 2 ? 'assistant' : 'user', `m${i}`],
      );
    }

    for (const name of files.slice(index)) await apply(db, name);
    const rows = await db.query<{ id: string; parent_id: string | null }>(
      'select id, parent_id from messages where conversation_id = $1 order by seq',
      [lined],
    );
    expect(rows.rows).toEqual(ids.map((id, i) => ({ id, parent_id: i === 0 ? null : ids[i - 1] })));
    const leaves = await db.query<{ id: string; leaf_message_id: string | null }>(
      'select id, leaf_message_id from conversations order by id',
    );
    expect(Object.fromEntries(leaves.rows.map((row) => [row.id, row.leaf_message_id]))).toEqual({
      [lined]: ids.at(-1),
      [empty]: null,
    });
  });
});
