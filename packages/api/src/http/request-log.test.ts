import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { describe, expect, it } from 'vitest';
import type { ApiLogger } from '../context';
import { requestLog } from './request-log';

function recordingLogger() {
  const lines: { level: 'info' | 'warn' | 'error'; fields: object; message?: string }[] = [];
  const logger: ApiLogger = {
    info: (fields, message) => void lines.push({ level: 'info', fields, ...(message ? { message } : {}) }),
    warn: (fields, message) => void lines.push({ level: 'warn', fields, ...(message ? { message } : {}) }),
    error: (fields, message) => void lines.push({ level: 'error', fields, ...(message ? { message } : {}) }),
  };
  return { logger, lines };
}

function appWith(logger: ApiLogger) {
  const app = new Hono();
  app.use(requestId());
  app.use(requestLog(logger));
  app.get('/status/:code', (c) => c.body(null, Number(c.req.param('code')) as 500));
  return app;
}

describe('requestLog', () => {
  it('logs the path without its query string, which carries tRPC inputs', async () => {
    const { logger, lines } = recordingLogger();
    await appWith(logger).request('/status/200?input=%7B%22text%22%3A%22private-words%22%7D');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.fields).toMatchObject({ path: '/status/200', status: 200 });
    expect(JSON.stringify(lines)).not.toContain('private-words');
    expect(JSON.stringify(lines)).not.toContain('input');
  });

  it('tells a failing upstream (502, 503, 504) at warn level, and only its own failures at error level', async () => {
    const { logger, lines } = recordingLogger();
    const app = appWith(logger);
    for (const code of [502, 503, 504, 500]) await app.request(`/status/${code}`);
    expect(lines.map((line) => [line.level, (line.fields as { status: number }).status])).toEqual([
      ['warn', 502],
      ['warn', 503],
      ['warn', 504],
      ['error', 500],
    ]);
  });
});
