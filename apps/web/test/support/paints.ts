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
