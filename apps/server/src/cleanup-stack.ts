/**
 * What start-up has opened, closed in reverse order: by `close()` at shutdown, and by start-up
 * itself when a later step fails, so a half-built server leaks no connection and no data-dir lock.
 */
export class CleanupStack {
  private readonly steps: Array<() => Promise<void> | void> = [];

  defer(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  /** Runs every step, newest first, even when one fails; rethrows the first failure at the end. */
  async run(): Promise<void> {
    let failure: { error: unknown } | null = null;
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}
