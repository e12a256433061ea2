/**
 * Runs tasks one at a time per key, in the order they arrive; different keys run in parallel.
 * A task whose signal aborts while it waits leaves the queue at once with the signal's reason,
 * without holding up the tasks behind it.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release = () => {};
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    // The last task out forgets the key, so idle keys hold no memory.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });

    const turn = waitFor(previous, signal);
    return turn.then(
      async () => {
        try {
          return await task();
        } finally {
          release();
        }
      },
      (reason: unknown) => {
        // Gave up waiting: the next task still waits for those ahead of this one.
        void previous.then(release);
        throw reason;
      },
    );
  }
}

function waitFor(previous: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return previous;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void previous.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
