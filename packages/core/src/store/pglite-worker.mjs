// The embedded database in a worker thread: PGlite runs every statement synchronously in WASM, so on
// the main thread each one would stall HTTP and streaming. Plain JavaScript, because a worker is
// loaded by Node itself, without the TypeScript loader the rest of the code runs under.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PreparedStatements } from './pglite-prepared.mjs';

const keepText = (value) => value;
// Dates, timestamps, intervals and their arrays stay text, for Drizzle to map (as its PGlite driver asks).
const parsers = Object.fromEntries(
  [1082, 1114, 1184, 1186, 1231, 1115, 1185, 1187, 1182].map((oid) => [oid, keepText]),
);

// shared_buffers is set both ways: at initdb, into a new directory's postgresql.conf, and at every
// start, over what an existing directory's file says (PGlite's default, 128MB, is ~120 MB more RSS).
const sharedBuffers = workerData.sharedBuffers;
const db = await PGlite.create(workerData.dataDir, {
  parsers,
  ...(sharedBuffers
    ? {
        initDbStartParams: ['--set', `shared_buffers=${sharedBuffers}`],
        startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`],
      }
    : {}),
});
const prepared = new PreparedStatements(db);

/** What of a database error the main thread needs: its message and PostgreSQL's fields (code, constraint…). */
function describeError(error) {
  const fields = {};
  for (const key of ['code', 'constraint', 'detail', 'hint', 'schema', 'table', 'column', 'severity', 'position']) {
    if (error && error[key] !== undefined) fields[key] = error[key];
  }
  return { message: error instanceof Error ? error.message : String(error), fields };
}

/** Statement texts by the number the main thread gave them (see PgliteThread). */
const texts = new Map();

async function handle(request) {
  if (request.kind === 'close') {
    await db.close();
    parentPort.postMessage({ id: request.id, result: null });
    parentPort.close();
    return;
  }
  try {
    if (request.sql !== undefined && request.sqlId !== undefined) texts.set(request.sqlId, request.sql);
    const sql = request.sql ?? texts.get(request.sqlId);
    const result =
      request.kind === 'exec' ? await db.exec(sql) : await prepared.query(sql, request.params, request.rowMode);
    parentPort.postMessage({ id: request.id, result });
  } catch (error) {
    parentPort.postMessage({ id: request.id, error: describeError(error) });
  }
}

// One request at a time, in the order sent: the main thread relies on it to keep transactions whole.
let queue = Promise.resolve();
parentPort.on('message', (request) => {
  queue = queue.then(() => handle(request));
});

parentPort.postMessage({ ready: true });
