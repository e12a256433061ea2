import type { Sql } from 'postgres';
import type { RunSignals } from '../ports/run-signals';

const CANCEL_CHANNEL = 'hearth_run_cancel';

/** Run signals over PostgreSQL's LISTEN/NOTIFY, which every process sharing the database hears. */
export class PostgresRunSignals implements RunSignals {
  constructor(private readonly client: Sql) {}

  async requestCancel(runId: string): Promise<void> {
    await this.client.notify(CANCEL_CHANNEL, runId);
  }

  async listen(onCancel: (runId: string) => void): Promise<() => Promise<void>> {
    const { unlisten } = await this.client.listen(CANCEL_CHANNEL, onCancel);
    return unlisten;
  }
}
