import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

/** "no such file or directory (ENOENT)" from Node's "ENOENT: no such file or directory, mkdir '…'". */
function reasonOf(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const text = /^\w+: ([^,]+),/.exec(message)?.[1];
  return text && code ? `${text} (${code})` : String(message);
}

/**
 * Creates a directory and its missing parents, one at a time. Node's own recursive mkdir never
 * returns where a parent exists but refuses children (mkdir under /proc answers ENOENT, and Node
 * retries the parent, which exists, forever at full CPU).
 */
export function createDataDir(path: string): void {
  const target = resolve(path);
  const missing: string[] = [];
  for (let current = target; !existsSync(current); current = dirname(current)) {
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      const where = dir === target ? '' : `${dir}: `;
      throw new DataDirError(`cannot create the data directory ${target}: ${where}${reasonOf(error)}`);
    }
  }
  if (!statSync(target).isDirectory()) {
    throw new DataDirError(`cannot create the data directory ${target}: a file of that name is in the way`);
  }
}
