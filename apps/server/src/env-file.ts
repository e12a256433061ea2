import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Reads `.env` from the working directory if there is one; real environment variables win. */
export function loadEnvFile(cwd = process.cwd()): string | null {
  const path = resolve(cwd, '.env');
  if (!existsSync(path)) return null;
  process.loadEnvFile(path);
  return path;
}
