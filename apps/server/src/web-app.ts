import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Context, Hono } from 'hono';

/** Paths the API owns: never answered with the app, so an unknown one stays the API's 404. */
export const API_PATH_PREFIXES = ['/trpc', '/api', '/openai', '/healthz', '/readyz', '/docs', '/metrics'] as const;

/** Where `pnpm --filter @hearth/web build` writes the app, in this checkout. */
export const DEFAULT_WEB_APP_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

// The app's own scripts and styles only: Markdown is sanitised, and this stops whatever slips through.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

function isApiPath(path: string): boolean {
  return API_PATH_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

function isAppRequest(c: Context): boolean {
  return (c.req.method === 'GET' || c.req.method === 'HEAD') && !isApiPath(c.req.path);
}

/**
 * Serves the built web app at `/` of the API's own origin, if `dir` holds a build: files as they
 * are (hashed assets cached for good), and index.html for any other GET, so a reload of a client
 * route works. Returns whether it is served.
 */
export function serveWebApp(app: Hono, dir: string): boolean {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return false;

  const files = serveStatic({
    root: dir,
    precompressed: true,
    onFound: (path, c) => {
      const hashed = path.includes(`${join(dir, 'assets')}/`);
      c.header('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
      if (path.endsWith('.html')) c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    },
  });
  const fallback = serveStatic({
    path: index,
    onFound: (_path, c) => {
      c.header('Cache-Control', 'no-cache');
      c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    },
  });
  app.use('*', async (c, next) => (isAppRequest(c) ? files(c, next) : next()));
  app.use('*', async (c, next) => {
    // A missing asset is a 404, not the page: a stale tab asking for an old chunk must see it fail.
    if (!isAppRequest(c) || c.req.path.startsWith('/assets/')) return next();
    return fallback(c, next);
  });
  return true;
}
