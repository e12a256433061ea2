import type { Page } from 'playwright-core';

export interface PaintSample {
  /** Epoch ms of the animation frame that showed this text. */
  at: number;
  text: string;
  status: string | null;
}

/**
 * Starts sampling, once per animation frame, the text of the first assistant message after the
 * `skip` already on screen: a change seen in a frame callback is painted in that frame.
 */
export async function startPaintSampler(page: Page, skip: number): Promise<void> {
  await page.evaluate((skipCount) => {
    const samples: { at: number; text: string; status: string | null }[] = [];
    let last: string | null = null;
    let running = true;
    const tick = () => {
      const answers = document.querySelectorAll<HTMLElement>('article[data-role="assistant"]');
      const answer = answers[skipCount];
      const text = answer?.querySelector('.body')?.textContent ?? '';
      const status = answer?.dataset.status ?? null;
      const key = `${status}|${text}`;
      if (answer && key !== last) {
        last = key;
        samples.push({ at: performance.timeOrigin + performance.now(), text, status });
      }
      if (running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const w = window as unknown as { __paints: typeof samples; __stopPaints: () => void };
    w.__paints = samples;
    w.__stopPaints = () => {
      running = false;
    };
  }, skip);
}

export async function stopPaintSampler(page: Page): Promise<PaintSample[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __paints: PaintSample[]; __stopPaints: () => void };
    w.__stopPaints();
    return w.__paints;
  });
}

/**
 * How far the page's clock is ahead of this process's (ms), from the round trip with the smallest
 * delay; both read the machine's clock, but each rounds its own time origin.
 */
export async function pageClockOffset(page: Page, now: () => number): Promise<number> {
  let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 };
  for (let i = 0; i < 7; i += 1) {
    const sent = now();
    const pageTime = await page.evaluate(() => performance.timeOrigin + performance.now());
    const received = now();
    if (received - sent < best.rtt) best = { rtt: received - sent, offset: pageTime - (sent + received) / 2 };
  }
  return best.offset;
}

/**
 * Notes when the first `text.delta` of the next run's event stream reaches the page (the SDK reads
 * the stream through fetch), so the delta-to-paint figure can be split into network and rendering.
 */
export async function recordFirstDeltaArrival(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __firstDeltaAt: number | null; __fetch?: typeof fetch };
    w.__firstDeltaAt = null;
    const original = w.__fetch ?? window.fetch;
    w.__fetch = original;
    window.fetch = async (...args) => {
      const response = await original(...args);
      if (!String(args[0] instanceof Request ? args[0].url : args[0]).includes('chat.events') || !response.body) {
        return response;
      }
      const [forPage, forUs] = response.body.tee();
      void (async () => {
        const reader = forUs.getReader();
        const decoder = new TextDecoder();
        while (w.__firstDeltaAt === null) {
          const { done, value } = await reader.read();
          if (done) break;
          if (decoder.decode(value, { stream: true }).includes('"text.delta"')) {
            w.__firstDeltaAt = performance.timeOrigin + performance.now();
          }
        }
        await reader.cancel();
      })();
      return new Response(forPage, { headers: response.headers, status: response.status });
    };
  });
}

export async function firstDeltaArrival(page: Page): Promise<number | null> {
  return page.evaluate(() => (window as unknown as { __firstDeltaAt: number | null }).__firstDeltaAt);
}
