import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from './data-dir-lock';

const freshDir = () => mkdtempSync(join(tmpdir(), 'hearth-lock-'));

describe('lockDataDir', () => {
  it('claims a directory until released', () => {
    const dir = freshDir();
    const release = lockDataDir(dir);
    expect(readFileSync(join(dir, 'hearth.lock'), 'utf8')).toMatch(new RegExp(`^${process.pid}`));
    release();
    expect(existsSync(join(dir, 'hearth.lock'))).toBe(false);
  });

  it('refuses a directory another running process holds, naming it', async () => {
    const dir = freshDir();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      writeFileSync(join(dir, 'hearth.lock'), String(other.pid));
      expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
      expect(() => lockDataDir(dir)).toThrow(`in use by another Hearth process (pid ${other.pid})`);
    } finally {
      other.kill();
    }
  });

  it('takes over a lock left by a process that is gone, or by an earlier process with a reused pid', async () => {
    const dir = freshDir();
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(join(dir, 'hearth.lock'), String(gone.pid));
    lockDataDir(dir)();

    const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      // The pid is running, but it started at another time: not the process that wrote the lock.
      writeFileSync(join(dir, 'hearth.lock'), `${alive.pid} 1`);
      lockDataDir(dir)();
    } finally {
      alive.kill();
    }
  });
});
