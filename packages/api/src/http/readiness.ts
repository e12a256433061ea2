import type { Context } from 'hono';

export interface ReadinessCheck {
  /** Names the part in the 503 answer: `store`, `letta`, … */
  name: string;
  check(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2_000;

async function run(check: ReadinessCheck): Promise<'ok' | 'failing'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check.check(), timeout]);
    return 'ok';
  } catch {
    return 'failing';
  } finally {
    clearTimeout(timer);
  }
}

export async function readinessResponse(c: Context, checks: ReadinessCheck[]) {
  const results = await Promise.all(checks.map(async (check) => [check.name, await run(check)] as const));
  const failing = results.filter(([, state]) => state === 'failing').map(([name]) => name);
  const body = { status: failing.length === 0 ? 'ready' : 'unavailable', checks: Object.fromEntries(results), failing };
  return c.json(body, failing.length === 0 ? 200 : 503);
}
