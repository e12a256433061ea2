import { Writable } from 'node:stream';
import { AppError } from '@hearth/core';
import { DrizzleQueryError } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createLogger, logFormatFor } from './logger';

function capturingLogger() {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
  const logged = () => lines.map((line) => JSON.parse(line) as { level: number; err?: { stack?: string } });
  return { logger, logged, text: () => lines.join('') };
}

describe('createLogger', () => {
  it('logs a failed query without its statement or bound values', () => {
    const { logger, text } = capturingLogger();
    const marker = 'marker-for-a-bound-value';
    logger.error({ err: new DrizzleQueryError('insert into "users" values ($1)', [marker], new Error('x')) }, 'failed');
    expect(text()).toContain('insert into \\"users\\"');
    expect(text()).not.toContain(marker);
    expect(text()).not.toContain('values');
  });

  it('tells an expected condition logged as an error at warn level, without a stack', () => {
    const { logger, logged } = capturingLogger();
    logger.error({ err: new AppError('UPSTREAM_UNAVAILABLE', 'The model provider could not be reached.') }, 'failed');
    logger.error({ err: new DOMException('cancelled', 'AbortError') }, 'failed');
    logger.error({ err: new RangeError('a bug') }, 'failed');
    const [upstream, aborted, bug] = logged();
    expect(upstream).toMatchObject({ level: 40 });
    expect(upstream?.err?.stack).toBeUndefined();
    expect(aborted).toMatchObject({ level: 40 });
    expect(aborted?.err?.stack).toBeUndefined();
    expect(bug).toMatchObject({ level: 50 });
    expect(bug?.err?.stack).toMatch(/^RangeError: a bug\n\s+at /);
  });

  it('writes ISO times in JSON lines', () => {
    const { logger, logged } = capturingLogger();
    logger.info({ runId: 'r1' }, 'run ended');
    const [line] = logged() as unknown as { time: string }[];
    expect(line?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes lines a person can read in the pretty format, with the same redaction', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', sink, 'pretty');
    logger.info({ runId: 'r1', password: 'hunter22' }, 'run ended');
    await new Promise((resolve) => setImmediate(resolve));
    const text = lines.join('');
    expect(text).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: run ended/);
    expect(text).toContain('runId: "r1"');
    expect(text).not.toContain('hunter22');
    expect(() => JSON.parse(text)).toThrow();
  });

  it('picks pretty for development and JSON for production off a terminal, unless LOG_FORMAT says', () => {
    expect(logFormatFor({ NODE_ENV: 'development' })).toBe('pretty');
    expect(logFormatFor({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' })).toBe('pretty');
    expect(logFormatFor({ NODE_ENV: 'development', LOG_FORMAT: 'json' })).toBe('json');
    if (!process.stdout.isTTY) expect(logFormatFor({ NODE_ENV: 'production' })).toBe('json');
  });
});
