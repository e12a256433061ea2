/**
 * How the processes sharing a store reach each other's runs. A run lives in the process that
 * started it; a cancel may arrive at any process behind the load balancer.
 */
export interface RunSignals {
  /** Asks whichever process is running `runId` to cancel it. */
  requestCancel(runId: string): Promise<void>;
  /** Hands cancel requests from other processes to `onCancel`; resolves to a function that stops. */
  listen(onCancel: (runId: string) => void): Promise<() => Promise<void>>;
}

/** One process owns the store (the embedded PGlite): a run not here is not running anywhere. */
export const singleProcessSignals: RunSignals = {
  requestCancel: async () => {},
  listen: async () => async () => {},
};
