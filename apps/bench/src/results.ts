import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Prints a benchmark's figures and writes them to bench-results/<name>.json at the repository root. */
export function reportFigures(name: string, figures: object): void {
  const text = `${JSON.stringify(figures, null, 2)}\n`;
  console.log(text);
  const out = resolve(import.meta.dirname, '../../../bench-results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${name}.json`), text);
  console.log(`written to ${join(out, `${name}.json`)}`);
}
