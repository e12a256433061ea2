// Named prepared statements for PGlite. Its `query` parses, describes and plans every statement
// anew, in six calls into WASM; the same few statements run for every chat run, so each is prepared
// once and then run with one call (bind, execute, sync). Plain JavaScript: it runs in the worker.

/** Statements prepared at most; past it, new statements run through PGlite's own query. */
const MAX_PREPARED = 1000;
/** Only plain data statements are prepared: DDL, SET and transaction control go through `query`. */
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;
/** "cached plan must not change result type": the statement's tables changed under it. */
const PLAN_CHANGED = '0A000';

const encoder = new TextEncoder();

/** A frontend message: its type byte, then its length (itself included), then the body. */
function message(type, parts) {
  const body = parts.reduce((n, part) => n + part.length, 0);
  const out = new Uint8Array(5 + body);
  const view = new DataView(out.buffer);
  out[0] = type.charCodeAt(0);
  view.setInt32(1, 4 + body);
  let at = 5;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const cstring = (text) => encoder.encode(`${text}\0`);

function int16(value) {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setInt16(0, value);
  return out;
}

function int32(value) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value);
  return out;
}

const parse = (name, sql) => message('P', [cstring(name), cstring(sql), int16(0)]);
const describeStatement = (name) => message('D', [encoder.encode('S'), cstring(name)]);
const execute = () => message('E', [cstring(''), int32(0)]);
const sync = () => message('S', []);

/** Bind with every parameter and result in text format; null parameters as length -1. */
function bind(name, values) {
  const parts = [cstring(''), cstring(name), int16(0), int16(values.length)];
  for (const value of values) {
    if (value === null) {
      parts.push(int32(-1));
    } else {
      const bytes = encoder.encode(value);
      parts.push(int32(bytes.length), bytes);
    }
  }
  parts.push(int16(0));
  return message('B', parts);
}

function concat(messages) {
  const out = new Uint8Array(messages.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of messages) {
    out.set(m, at);
    at += m.length;
  }
  return out;
}

export class PreparedStatements {
  #db;
  #statements = new Map();
  #count = 0;

  constructor(db) {
    this.#db = db;
  }

  /** As PGlite's `query` answers: `{ rows, fields, affectedRows }`, rows as objects or arrays. */
  async query(sql, params = [], rowMode = 'object') {
    if (!PREPARABLE.test(sql)) return this.#db.query(sql, params, { rowMode });
    let statement = this.#statements.get(sql);
    if (!statement) {
      if (this.#statements.size >= MAX_PREPARED) return this.#db.query(sql, params, { rowMode });
      statement = await this.#prepare(sql);
    }
    try {
      return await this.#run(statement, params, rowMode);
    } catch (error) {
      if (error?.code !== PLAN_CHANGED) throw error;
      this.#statements.delete(sql);
      await this.#db.exec(`deallocate ${statement.name}`);
      return this.#run(await this.#prepare(sql), params, rowMode);
    }
  }

  async #prepare(sql) {
    this.#count += 1;
    const name = `hearth_${this.#count}`;
    const { messages } = await this.#db.execProtocol(concat([parse(name, sql), describeStatement(name), sync()]));
    const parameters = messages.find((m) => m.name === 'parameterDescription')?.dataTypeIDs ?? [];
    const description = messages.find((m) => m.name === 'rowDescription');
    const fields = (description?.fields ?? []).map((field) => ({ name: field.name, dataTypeID: field.dataTypeID }));
    const statement = { name, parameters, fields };
    this.#statements.set(sql, statement);
    return statement;
  }

  async #run(statement, params, rowMode) {
    const db = this.#db;
    const values = params.map((value, index) => {
      if (value === null || value === undefined) return null;
      const serialize = db.serializers[statement.parameters[index]];
      return serialize ? serialize(value) : value.toString();
    });
    const { messages } = await db.execProtocol(concat([bind(statement.name, values), execute(), sync()]));
    const { fields } = statement;
    const parsers = fields.map((field) => db.parsers[field.dataTypeID]);
    const cell = (value, index) => {
      if (value === null) return null;
      const parser = parsers[index];
      return parser ? parser(value, fields[index].dataTypeID) : value;
    };
    // Shaped as PGlite's own results: rows, fields, the command, rows affected and counted.
    const result = { rows: [], fields, affectedRows: 0 };
    for (const m of messages) {
      if (m.name === 'dataRow') {
        result.rows.push(
          rowMode === 'array'
            ? m.fields.map(cell)
            : Object.fromEntries(m.fields.map((value, index) => [fields[index].name, cell(value, index)])),
        );
      } else if (m.name === 'commandComplete') {
        const words = m.text.split(' ');
        const count = Number.parseInt(words.at(-1), 10);
        result.command = words[0];
        if (['INSERT', 'UPDATE', 'DELETE', 'COPY', 'MERGE'].includes(words[0])) result.affectedRows += count;
        if (!Number.isNaN(count)) result.rowCount = count;
      }
    }
    return result;
  }
}
