// Writes a new PGlite data directory, as initdb makes it, as a gzipped tarball: the server's build
// ships it beside the bundle, and a first start unpacks it instead of running initdb in WebAssembly
// (seconds of CPU and ~800 MB of peak RSS; unpacking takes a fraction of both). Plain JavaScript, as
// the build runs it with Node alone: `node pglite-template.mjs <out.tar.gz>`.
import { writeFileSync } from 'node:fs';
import { argv } from 'node:process';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

/** The shared_buffers a new directory's postgresql.conf gets (PGLITE_SHARED_BUFFERS overrides it at start). */
export const TEMPLATE_SHARED_BUFFERS = '16MB';

export async function writePgliteTemplate(path) {
  const db = await PGlite.create({ initDbStartParams: ['--set', `shared_buffers=${TEMPLATE_SHARED_BUFFERS}`] });
  try {
    const tarball = await db.dumpDataDir('gzip');
    writeFileSync(path, Buffer.from(await tarball.arrayBuffer()));
  } finally {
    await db.close();
  }
}

if (argv[1] && import.meta.url === pathToFileURL(argv[1]).href) {
  if (!argv[2]) throw new Error('usage: node pglite-template.mjs <out.tar.gz>');
  await writePgliteTemplate(argv[2]);
}
