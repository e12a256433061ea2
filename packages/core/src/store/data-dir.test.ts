import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDataDir, DataDirError } from './data-dir';

describe('createDataDir', () => {
  it('creates a directory with its missing parents, and accepts one that exists', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hearth-dir-')), 'a', 'b', 'c');
    createDataDir(path);
    createDataDir(path);
    expect(statSync(path).isDirectory()).toBe(true);
  });

  it('fails at once where the OS refuses, naming the directory and the reason', () => {
    expect(() => createDataDir('/proc/nope/pgdata')).toThrow(
      new DataDirError(
        'cannot create the data directory /proc/nope/pgdata: /proc/nope: no such file or directory (ENOENT)',
      ),
    );
    const file = join(mkdtempSync(join(tmpdir(), 'hearth-dir-')), 'file');
    writeFileSync(file, '');
    expect(() => createDataDir(join(file, 'pgdata'))).toThrow(/^cannot create the data directory .+: not a directory/);
    expect(() => createDataDir(file)).toThrow(/a file of that name is in the way$/);
  });
});
