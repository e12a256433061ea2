import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'dotenv';
import { ConfigError } from './config';

const ENTRY = /^\s*(?:export\s+)?[A-Za-z_][\w.-]*\s*=\s*(.*)$/;
const QUOTES = ['"', "'", '`'];

/**
 * The number of the first line that is neither blank, a comment nor `NAME=value` (a quoted value
 * may run over several lines), or null. dotenv skips such a line without a word, and Node's own
 * parser (process.loadEnvFile) even reads it as the start of the next setting's name, dropping it.
 */
export function malformedLine(text: string): { line: number; problem: string } | null {
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const value = ENTRY.exec(line)?.[1];
    if (value === undefined) return { line: index + 1, problem: 'expected NAME=value, a # comment or a blank line' };
    const quote = QUOTES.find((mark) => value.startsWith(mark));
    if (!quote || closes(value.slice(1), quote)) continue;
    const start = index;
    do index += 1;
    while (index < lines.length && !closes(lines[index] ?? '', quote));
    if (index >= lines.length) return { line: start + 1, problem: `the value's opening ${quote} is never closed` };
  }
  return null;
}

/** Whether a closing quote not escaped with a backslash appears (dotenv's rule). */
function closes(text: string, quote: string): boolean {
  return new RegExp(`(^|[^\\\\])${quote}`).test(text);
}

/**
 * Reads `.env` from the working directory if there is one; real environment variables win. A
 * malformed line stops start-up with its number (never its text, which may hold a secret).
 */
export function loadEnvFile(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string | null {
  const path = resolve(cwd, '.env');
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8');
  const malformed = malformedLine(text);
  if (malformed) throw new ConfigError(`${path} line ${malformed.line}: ${malformed.problem}`);
  for (const [name, value] of Object.entries(parse(text))) {
    if (env[name] === undefined) env[name] = value;
  }
  return path;
}
