import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { type ServerProcess, startServerProcess } from '../../src/server-process';

/** One Hearth server process in the pool, restartable under its name. */
export interface Instance {
  name: string;
  process: ServerProcess | undefined;
  /** Set while the suite itself stops or kills it: any other exit is the server dying by itself. */
  stopping: boolean;
}

/** An exit nobody asked for, with the end of what the process printed. */
export interface UnexpectedExit {
  instance: string;
  code: number | null;
  signal: string | null;
  lastLines: string[];
}

export async function startInstance(
  instance: Instance,
  env: Record<string, string>,
  onUnexpectedExit: (exit: UnexpectedExit) => void,
): Promise<ServerProcess> {
  // Info, not warn: the start-up line that says where it listens is an info line. The output is
  // kept so a server that dies by itself can say why.
  const started = await startServerProcess({ HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env }, { keepOutput: true });
  instance.process = started;
  instance.stopping = false;
  started.child.once('exit', (code, signal) => {
    if (instance.stopping) return;
    const lastLines = started
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('"msg":"request"'))
      .slice(-40);
    onUnexpectedExit({ instance: instance.name, code, signal, lastLines });
  });
  return started;
}

/** kill -9: no shutdown hook runs, its runs are left `running` in the store with their heartbeats. */
export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export function stopGracefully(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const answers = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export interface ChaosRedis {
  url: string;
  /** Stops it (saving its data, as a restart of a configured Redis does), waits, starts it again. */
  restart(downMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A redis-server of the suite's own, on a port of its own even when a system Redis answers on 6379,
 * so it can be restarted without touching anyone else's. `CHAOS_REDIS_PORT` picks the port.
 */
export async function startRedis(port: number): Promise<ChaosRedis> {
  if (await answers(port)) throw new Error(`something already answers on port ${port}: set CHAOS_REDIS_PORT`);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-chaos-redis-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '3600 1', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    started.once('error', () => {});
    for (let i = 0; i < 100 && !(await answers(port)); i++) await sleep(50);
    if (!(await answers(port))) throw new Error('redis-server did not start (is it installed?)');
    child = started;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    restart: async (downMs) => {
      if (child) await stopGracefully(child);
      await sleep(downMs);
      await launch();
    },
    close: async () => {
      if (child) await stopGracefully(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ChaosDatabase {
  url: string;
  sql: postgres.Sql;
  /** Ends every connection the servers hold to the database (pg_terminate_backend); returns how many. */
  terminateBackends(): Promise<number>;
  drop(): Promise<void>;
}

/** The suite's own connection, which the backend terminations spare. */
const VERIFY_APP = 'hearth-chaos-verify';

/** A fresh database for one run of the suite, on the PostgreSQL that `adminUrl` points at. */
export async function createDatabase(adminUrl: string): Promise<ChaosDatabase> {
  const name = `hearth_chaos_${Date.now()}_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {}, connection: { application_name: VERIFY_APP } });
  return {
    url: url.toString(),
    sql,
    terminateBackends: async () => {
      const rows = await admin<{ pid: number }[]>`
        select pg_terminate_backend(pid) as ok, pid from pg_stat_activity
        where datname = ${name} and pid <> pg_backend_pid() and application_name <> ${VERIFY_APP}`;
      return rows.length;
    },
    drop: async () => {
      await sql.end();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
