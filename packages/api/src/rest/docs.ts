import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Scalar } from '@scalar/hono-api-reference';
import { Hono } from 'hono';

const BUNDLE_PATH = '/docs/scalar.js';

/**
 * The interactive reference of the REST API. Scalar's page loads its script from a CDN by
 * default; here the script is the standalone bundle of the installed @scalar/api-reference, served
 * by this server, so the page works offline and sends nobody the visitor's address.
 */
export function apiReference(documentUrl: string): Hono {
  const bundleFile = join(
    dirname(createRequire(import.meta.url).resolve('@scalar/api-reference')),
    'browser',
    'standalone.js',
  );
  let bundle: Promise<Buffer> | undefined;
  const app = new Hono();
  app.get('/scalar.js', async (c) => {
    bundle ??= readFile(bundleFile);
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=86400');
    return c.body(new Uint8Array(await bundle));
  });
  app.get(
    '/',
    Scalar({
      url: documentUrl,
      cdn: BUNDLE_PATH,
      pageTitle: 'Hearth API reference',
      // The default fonts come from Scalar's font CDN.
      withDefaultFonts: false,
      telemetry: false,
      // Unset, "try it" requests go through proxy.scalar.com, tokens and all; this API is same-origin.
      proxyUrl: '',
      hideClientButton: true,
    }),
  );
  return app;
}
