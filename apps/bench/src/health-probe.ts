import { Agent, get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile, round } from './stats';

const PROBE_PAUSE_MS = 20;

/**
 * Asks /healthz over and over (one request at a time, on one kept-alive connection), noting each
 * latency under the phase set at the time: what a load balancer's health check would see.
 */
export function healthProbe<Phase extends string>(url: string, first: Phase) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples = new Map<Phase, number[]>();
  let phase = first;
  let running = true;
  const once = () =>
    new Promise<void>((resolvePromise, reject) => {
      const started = performance.now();
      get(`${url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          const list = samples.get(phase) ?? [];
          list.push(performance.now() - started);
          samples.set(phase, list);
          resolvePromise();
        });
      }).on('error', reject);
    });
  const loop = (async () => {
    while (running) {
      await once();
      await sleep(PROBE_PAUSE_MS);
    }
  })();
  return {
    setPhase: (next: Phase) => {
      phase = next;
    },
    stop: async () => {
      running = false;
      await loop;
      agent.destroy();
      return (of: Phase) => latency(samples.get(of) ?? []);
    },
  };
}

export const latency = (values: number[]) => ({
  samples: values.length,
  p50: round(percentile(values, 50)),
  p99: round(percentile(values, 99)),
  max: values.length > 0 ? round(Math.max(...values)) : Number.NaN,
});
