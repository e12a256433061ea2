import { AppError } from '@hearth/core';
import { DrizzleQueryError } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';

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
});
