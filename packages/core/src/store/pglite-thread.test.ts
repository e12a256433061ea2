import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript, which the server's build runs with Node alone
import { TEMPLATE_SHARED_BUFFERS, writePgliteTemplate } from './pglite-template.mjs';
import { PgliteThread } from './pglite-thread';

describe('PgliteThread', () => {
  let db: PgliteThread;

  beforeAll(async () => {
    db = await PgliteThread.open(undefined);
    await db.exec('create table notes (id int primary key, body text not null)');
  });
  afterAll(() => db?.close());

  it('answers queries in either row mode, with timestamps left as text for Drizzle', async () => {
    await db.query('insert into notes values ($1, $2)', [1, 'one']);
    expect((await db.query('select id, body from notes where id = $1', [1])).rows).toEqual([{ id: 1, body: 'one' }]);
    expect((await db.query('select id, body from notes', [], { rowMode: 'array' })).rows).toEqual([[1, 'one']]);
    const [row] = (await db.query("select timestamptz '2026-01-02 03:04:05+00' as at")).rows as Array<{ at: unknown }>;
    expect(typeof row?.at).toBe('string');
  });

  it('passes on PostgreSQL error fields, so a unique violation is recognised', async () => {
    await expect(db.query('insert into notes values (1, $1)', ['again'])).rejects.toMatchObject({
      code: '23505',
      constraint: 'notes_pkey',
    });
  });

  it('keeps other statements out of a transaction until it ends, and rolls back on failure', async () => {
    let outsideRan = false;
    const transaction = db.transaction(async (tx) => {
      await tx.query('insert into notes values (2, $1)', ['two']);
      // Issued while the transaction is open: it must neither run inside it nor see its row early.
      const outside = db.query('select count(*)::int as n from notes').then((result) => {
        outsideRan = true;
        return result.rows;
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(outsideRan).toBe(false);
      await tx.query('insert into notes values (3, $1)', ['three']);
      throw Object.assign(new Error('changed my mind'), { outside });
    });
    const error = (await transaction.catch((caught: unknown) => caught)) as { outside: Promise<unknown> };
    expect(await error.outside).toEqual([{ n: 1 }]);
    expect((await db.query('select id from notes order by id')).rows).toEqual([{ id: 1 }]);
  });

  it('creates a database in a new directory, then serves it from a fresh worker and again after a restart', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'hearth-pglite-'));
    const dataDir = join(parent, 'pgdata');
    try {
      const created = await PgliteThread.open(dataDir);
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
      await created.exec('create table kept (id int primary key)');
      await created.query('insert into kept values (1)');
      await created.close();

      const reopened = await PgliteThread.open(dataDir);
      expect((await reopened.query('select id from kept')).rows).toEqual([{ id: 1 }]);
      await reopened.close();
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  }, 90_000); // initdb in WebAssembly: seconds on an idle machine, far more on a loaded one

  it('unpacks a new directory from a template, with its settings, and keeps what is written there', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'hearth-pglite-'));
    const template = join(parent, 'template.tar.gz');
    const dataDir = join(parent, 'pgdata');
    try {
      await writePgliteTemplate(template);
      // The data-dir lock is taken before the database opens: unpacking must leave it there.
      mkdirSync(dataDir);
      writeFileSync(join(dataDir, 'hearth.lock'), 'held');
      const created = await PgliteThread.open(dataDir, { template, sharedBuffers: '8MB' });
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
      expect(readFileSync(join(dataDir, 'hearth.lock'), 'utf8')).toBe('held');
      expect(existsSync(join(dataDir, '.unpacking'))).toBe(false);
      expect((await created.query("select current_setting('shared_buffers') as size")).rows).toEqual([{ size: '8MB' }]);
      await created.exec('create table kept (id int primary key)');
      await created.query('insert into kept values (1)');
      await created.close();

      // The directory is not new any more: the template is not unpacked over it again.
      const reopened = await PgliteThread.open(dataDir, { template });
      expect((await reopened.query('select id from kept')).rows).toEqual([{ id: 1 }]);
      expect((await reopened.query("select current_setting('shared_buffers') as size")).rows).toEqual([
        { size: TEMPLATE_SHARED_BUFFERS },
      ]);
      await reopened.close();
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  }, 90_000);
});
