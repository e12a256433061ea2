import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHearthClient, type HearthClient, isHearthError, type TrackedRunEvent } from '@hearth/sdk';

const TERMINAL = new Set(['run.completed', 'run.failed', 'run.cancelled']);
const PASSWORD = 'chaos suite password 1234';

/** A message the server accepted: `chat.send` answered with its run. */
export interface AcceptedMessage {
  userId: string;
  runId: string;
  userMessageId: string;
  text: string;
  /** Sends of the same clientMessageId it took (retries after errors and dropped answers). */
  attempts: number;
}

/** What one subscriber to one run saw, over every reconnect. */
export interface Subscription {
  userId: string;
  runId: string;
  eventIds: string[];
  /** The text deltas, in the order they arrived. */
  text: string;
  terminal: TrackedRunEvent['data'] | undefined;
  /** Subscriptions opened again after the stream failed with an error the SDK does not resume from. */
  resubscribes: number;
  /** Gave up before the run's terminal event: such a subscriber did not stay connected. */
  gaveUp: boolean;
}

export interface UserReport {
  userId: string;
  email: string;
  /** The own limit this user set, in USD, if lower than the operator's default. */
  ownLimitUsd: number | undefined;
  accepted: AcceptedMessage[];
  subscriptions: Subscription[];
  /** Sends refused for good, by appCode (BUDGET_EXCEEDED once the budget is spent). */
  refused: Record<string, number>;
  /** Sends retried after a transient error, by appCode or `network`. */
  retried: Record<string, number>;
}

export interface UserPlan {
  proxyUrl: string;
  index: number;
  ownLimitUsd: number | undefined;
  /** No new message after this (performance.now()); runs under way are still followed. */
  sendUntil: number;
  /** Subscribers waiting for a terminal event give up at this point. */
  giveUpAt: number;
  random: () => number;
}

/** Codes after which sending the same message again cannot succeed. */
const PERMANENT = new Set(['BUDGET_EXCEEDED', 'BUDGET_CEILING', 'INVALID_INPUT', 'FORBIDDEN', 'NOT_FOUND']);

const codeOf = (error: unknown) => (isHearthError(error) ? error.data.appCode : 'network');
const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** Retries a call through transient failures (a killed instance, a terminated connection, a 502). */
async function withRetries<T>(call: () => Promise<T>, retried: Record<string, number>, until: number): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const code = codeOf(error);
      if (PERMANENT.has(code) || performance.now() > until) throw error;
      bump(retried, code);
      const wait = isHearthError(error) ? (error.data.retryAfterSeconds ?? 0) * 1000 : 0;
      await sleep(Math.max(200, Math.min(wait, 2_000)));
    }
  }
}

/**
 * Follows one run to its terminal event. A dropped connection is resumed by the SDK itself from
 * the last event id (through the proxy, so usually on another instance); a stream that ends in an
 * error is opened again here, from the same id.
 */
function follow(client: HearthClient, userId: string, runId: string, giveUpAt: number): Promise<Subscription> {
  const seen: Subscription = {
    userId,
    runId,
    eventIds: [],
    text: '',
    terminal: undefined,
    resubscribes: 0,
    gaveUp: false,
  };
  return new Promise((resolve) => {
    let subscription: { unsubscribe(): void } | undefined;
    const timer = setTimeout(
      () => {
        seen.gaveUp = true;
        subscription?.unsubscribe();
        resolve(seen);
      },
      Math.max(0, giveUpAt - performance.now()),
    );
    const open = () => {
      const lastEventId = seen.eventIds.at(-1);
      subscription = client.chat.events.subscribe(
        { runId, ...(lastEventId ? { lastEventId } : {}) },
        {
          onData: (event) => {
            seen.eventIds.push(event.id);
            if (event.data.type === 'text.delta') seen.text += event.data.text;
            if (!TERMINAL.has(event.data.type)) return;
            seen.terminal = event.data;
            clearTimeout(timer);
            subscription?.unsubscribe();
            resolve(seen);
          },
          onError: () => {
            subscription?.unsubscribe();
            if (seen.gaveUp) return;
            seen.resubscribes += 1;
            setTimeout(open, 250);
          },
          // Ending without a terminal event (a resume after the last one) counts as having seen it all.
          onComplete: () => {
            clearTimeout(timer);
            resolve(seen);
          },
        },
      );
    };
    open();
  });
}

export interface ChaosUser {
  client: HearthClient;
  report: UserReport;
  plan: UserPlan;
}

/** Signs one user up through the proxy, with a lower limit of their own if the plan says so. */
export async function signUp(plan: UserPlan): Promise<ChaosUser> {
  const client = createHearthClient({ url: plan.proxyUrl });
  const email = `chaos-${plan.index}-${randomUUID().slice(0, 8)}@example.com`;
  const report: UserReport = {
    userId: '',
    email,
    ownLimitUsd: plan.ownLimitUsd,
    accepted: [],
    subscriptions: [],
    refused: {},
    retried: {},
  };
  const setupUntil = plan.giveUpAt;
  await withRetries(
    () =>
      client.auth.register.mutate({ email, password: PASSWORD }).catch(async (error: unknown) => {
        // A sign-up whose answer was lost on the way back: the account exists, so sign in.
        if (isHearthError(error, 'EMAIL_TAKEN')) return client.auth.login.mutate({ email, password: PASSWORD });
        throw error;
      }),
    report.retried,
    setupUntil,
  );
  const me = await withRetries(() => client.auth.me.query(), report.retried, setupUntil);
  report.userId = me.id;
  const ownLimitUsd = plan.ownLimitUsd;
  if (ownLimitUsd !== undefined) {
    await withRetries(
      () => client.user.setBudget.mutate({ limitUsd: ownLimitUsd, period: 'month' }),
      report.retried,
      setupUntil,
    );
  }
  return { client, report, plan };
}

/**
 * One message at a time until `sendUntil`, each run followed to its end; started once every user
 * has signed up, so the password hashing is not part of the chaos.
 */
export async function chatLoop({ client, report, plan }: ChaosUser): Promise<void> {
  let turn = 0;
  while (performance.now() < plan.sendUntil) {
    turn += 1;
    const text = `user ${plan.index} message ${turn}: tell me about ${randomUUID().slice(0, 8)}`;
    const clientMessageId = randomUUID();
    let attempts = 0;
    let sent: Awaited<ReturnType<HearthClient['chat']['send']['mutate']>>;
    try {
      sent = await withRetries(
        () => {
          attempts += 1;
          return client.chat.send.mutate({ text, clientMessageId });
        },
        report.retried,
        plan.sendUntil,
      );
    } catch (error) {
      bump(report.refused, codeOf(error));
      if (codeOf(error) === 'BUDGET_EXCEEDED') return;
      continue;
    }
    report.accepted.push({
      userId: report.userId,
      runId: sent.runId,
      userMessageId: sent.userMessage.id,
      text,
      attempts,
    });
    report.subscriptions.push(await follow(client, report.userId, sent.runId, plan.giveUpAt));
    await sleep(300 + plan.random() * 1_200);
  }
}
