import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

/**
 * Prints the app's JavaScript as it travels (gzipped) and fails the build above the budget. The
 * gzipped copies are emitted beside the originals, so the server sends them without compressing
 * per request (serveStatic's `precompressed`).
 */
export function sizeBudget(budgetKiB: number): Plugin {
  return {
    name: 'hearth-size-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      let jsBytes = 0;
      for (const file of Object.values(bundle)) {
        if (!/\.(js|css|svg)$/.test(file.fileName)) continue;
        const source = file.type === 'chunk' ? file.code : file.source;
        const gzipped = gzipSync(typeof source === 'string' ? Buffer.from(source) : source, { level: 9 });
        if (file.fileName.endsWith('.js')) jsBytes += gzipped.length;
        this.emitFile({ type: 'asset', fileName: `${file.fileName}.gz`, source: gzipped });
      }
      const kib = jsBytes / 1024;
      const line = `JS: ${kib.toFixed(1)} KiB gzipped (budget ${budgetKiB} KiB)`;
      if (kib > budgetKiB) this.error(`${line}: over budget`);
      // Printed, not logged: the build's output is where people look for it.
      console.log(line);
    },
  };
}
