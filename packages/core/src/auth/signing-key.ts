import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDataDir } from '../store/data-dir';

const KEY_FILE = 'jwt-secret';

/**
 * The configured secret, or one generated on first run and kept in the data directory so tokens
 * survive a restart. Returns where it came from so start-up can say so.
 */
export function resolveSigningKey(
  configured: string | undefined,
  dataDir: string,
): { key: Uint8Array; source: 'config' | 'generated' | 'data-dir' } {
  if (configured) return { key: new TextEncoder().encode(configured), source: 'config' };
  const path = join(dataDir, KEY_FILE);
  try {
    return { key: new TextEncoder().encode(readFileSync(path, 'utf8').trim()), source: 'data-dir' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  createDataDir(dataDir);
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { key: new TextEncoder().encode(secret), source: 'generated' };
}
