import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface QueryResult {
  rows: unknown[];
  fields: Array<{ name: string; dataTypeID: number }>;
  affectedRows?: number;
}

interface QueryOptions {
  rowMode?: 'array' | 'object';
}

/** What Drizzle's PGlite driver calls on its client; the worker-backed client provides the same. */
export interface PgliteLike {
  query(sql: string, params?: unknown[], options?: QueryOptions): Promise<QueryResult>;
  exec(sql: string): Promise<QueryResult[]>;
  transaction<T>(fn: (tx: Omit<PgliteLike, 'transaction' | 'close'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A database error from the worker, with PostgreSQL's fields (code, constraint…) as PGlite gives them. */
export class PgliteError extends Error {
  override readonly name = 'DatabaseError';
  constructor(message: string, fields: Record<string, unknown>) {
    super(message);
    Object.assign(this, fields);
  }
}

/** Statement texts given a number at most; others are sent whole every time. */
const MAX_NAMED_TEXTS = 5_000;

type Reply = { id: number; result?: unknown; error?: { message: string; fields: Record<string, unknown> } };

/**
 * PGlite in a worker thread (see pglite-worker.mjs), behind the client interface Drizzle uses.
 * The worker runs messages in order on its one connection, so a transaction holds the client:
 * statements from outside it wait until it ends instead of landing inside it.
 */
export interface PgliteSettings {
  /** PostgreSQL's `shared_buffers` (e.g. `16MB`), which is most of the worker's WebAssembly memory. */
  sharedBuffers?: string | undefined;
}

export class PgliteThread implements PgliteLike {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private held: Promise<void> | null = null;
  private readonly sqlIds = new Map<string, number>();
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.error) waiting.reject(new PgliteError(reply.error.message, reply.error.fields));
      else waiting.resolve(reply.result);
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', () => this.fail(new Error('the database worker stopped')));
  }

  /**
   * Starts the worker on `dataDir` (in memory when undefined) and waits until the database is open.
   * A new directory is created by a worker of its own, which then stops: creating a database leaves
   * initdb's WebAssembly memory behind for the life of the instance (~430 MB more RSS than the same
   * database opened again), and only the end of a worker reliably gives all of it back.
   */
  static async open(dataDir: string | undefined, settings: PgliteSettings = {}): Promise<PgliteThread> {
    if (dataDir !== undefined && !existsSync(join(dataDir, 'PG_VERSION'))) {
      await (await PgliteThread.start(dataDir, settings)).close();
    }
    return PgliteThread.start(dataDir, settings);
  }

  private static async start(dataDir: string | undefined, settings: PgliteSettings): Promise<PgliteThread> {
    const worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), {
      workerData: { dataDir, sharedBuffers: settings.sharedBuffers },
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: { ready?: boolean }) => {
        if (!message.ready) return;
        worker.off('error', reject);
        worker.off('message', onMessage);
        resolve();
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    return new PgliteThread(worker);
  }

  async query(sql: string, params: unknown[] = [], options: QueryOptions = {}): Promise<QueryResult> {
    await this.outsideTransactions();
    return this.send(this.queryRequest(sql, params, options));
  }

  async exec(sql: string): Promise<QueryResult[]> {
    await this.outsideTransactions();
    return this.send({ kind: 'exec', sql });
  }

  async transaction<T>(fn: (tx: Omit<PgliteLike, 'transaction' | 'close'>) => Promise<T>): Promise<T> {
    await this.outsideTransactions();
    let release = () => {};
    this.held = new Promise((resolve) => {
      release = resolve;
    });
    const tx = {
      query: (sql: string, params: unknown[] = [], options: QueryOptions = {}) =>
        this.send<QueryResult>(this.queryRequest(sql, params, options)),
      exec: (sql: string) => this.send<QueryResult[]>({ kind: 'exec', sql }),
    };
    try {
      await tx.query('begin');
      try {
        const result = await fn(tx);
        await tx.query('commit');
        return result;
      } catch (error) {
        await tx.query('rollback').catch(() => {});
        throw error;
      }
    } finally {
      this.held = null;
      release();
    }
  }

  async close(): Promise<void> {
    if (this.failure) return;
    await this.outsideTransactions();
    await this.send({ kind: 'close' });
    await this.worker.terminate();
  }

  private async outsideTransactions(): Promise<void> {
    while (this.held) await this.held;
  }

  /**
   * The same statements run over and over, some of them a few kilobytes long: after the first
   * time a statement is named by a number, so its text is not copied to the worker again.
   */
  private queryRequest(sql: string, params: unknown[], options: QueryOptions): Record<string, unknown> {
    const rowMode = options.rowMode ?? 'object';
    let sqlId = this.sqlIds.get(sql);
    if (sqlId !== undefined) return { kind: 'query', sqlId, params, rowMode };
    if (this.sqlIds.size >= MAX_NAMED_TEXTS) return { kind: 'query', sql, params, rowMode };
    sqlId = this.sqlIds.size + 1;
    this.sqlIds.set(sql, sqlId);
    return { kind: 'query', sql, sqlId, params, rowMode };
  }

  private send<T>(request: Record<string, unknown>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, ...request });
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
