import { FetchError, type FetchOptions, ofetch } from 'ofetch';
import type { BudgetPeriod } from '../../domain/budget';
import { AppError } from '../../domain/errors';

export interface LiteLlmAdminOptions {
  /** The proxy's base URL, e.g. http://litellm:4000. */
  baseUrl: string;
  masterKey: string;
  timeoutMs?: number;
}

export interface LiteLlmUserInfo {
  user_id: string;
  user_info: {
    spend: number;
    max_budget: number | null;
    budget_duration: string | null;
    budget_reset_at?: string | null;
  };
}

/** One call as the proxy logged and billed it (a subset of its spend log row). */
export interface LiteLlmSpendLog {
  request_id: string;
  spend: number;
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  model?: string | null;
  startTime: string;
}

/** LiteLLM spells budget periods as durations; `none` has none. */
export function budgetDuration(period: BudgetPeriod): string | null {
  return { day: '1d', week: '7d', month: '1mo', none: null }[period];
}

/**
 * The LiteLLM proxy's management API (users, keys, budgets), called with the master key. Failures
 * become AppErrors that never repeat the proxy's body.
 */
export class LiteLlmAdmin {
  private readonly client: ReturnType<typeof ofetch.create>;

  constructor(options: LiteLlmAdminOptions) {
    this.client = ofetch.create({
      baseURL: options.baseUrl,
      headers: { authorization: `Bearer ${options.masterKey}` },
      timeout: options.timeoutMs ?? 10_000,
      retry: 0,
    });
  }

  private async request<T>(path: string, options?: FetchOptions<'json'>, conflictAsNull = false): Promise<T | null> {
    try {
      return (await this.client<T>(path, options)) as T;
    } catch (error) {
      if (conflictAsNull && error instanceof FetchError && error.statusCode === 409) return null;
      throw toAppError(error);
    }
  }

  /** Creates the user with a budget and returns their first virtual key; null if the user exists. */
  async createUser(input: {
    userId: string;
    email: string;
    maxBudgetUsd: number | null;
    period: BudgetPeriod;
  }): Promise<string | null> {
    const created = await this.request<{ key: string }>(
      '/user/new',
      {
        method: 'POST',
        body: {
          user_id: input.userId,
          user_email: input.email,
          max_budget: input.maxBudgetUsd,
          budget_duration: budgetDuration(input.period),
          metadata: { source: 'hearth' },
        },
      },
      true,
    );
    return created?.key ?? null;
  }

  async generateKey(userId: string): Promise<string> {
    const generated = await this.request<{ key: string }>('/key/generate', {
      method: 'POST',
      body: { user_id: userId, key_alias: `hearth-${userId}`, metadata: { source: 'hearth' } },
    });
    if (!generated?.key) throw new AppError('UPSTREAM_ERROR', 'The LiteLLM proxy issued no key.');
    return generated.key;
  }

  async updateBudget(userId: string, maxBudgetUsd: number | null, period: BudgetPeriod): Promise<void> {
    await this.request('/user/update', {
      method: 'POST',
      body: { user_id: userId, max_budget: maxBudgetUsd, budget_duration: budgetDuration(period) },
    });
  }

  /** Removes the user's virtual key, then the proxy's user. */
  async deleteUser(userId: string, key: string): Promise<void> {
    await this.request('/key/delete', { method: 'POST', body: { keys: [key] } });
    await this.request('/user/delete', { method: 'POST', body: { user_ids: [userId] } });
  }

  async userInfo(userId: string): Promise<LiteLlmUserInfo | null> {
    return this.request<LiteLlmUserInfo>('/user/info', { query: { user_id: userId } });
  }

  /**
   * The user's calls between two days (the proxy filters by whole UTC days, inclusive); an
   * unprovisioned user has none.
   */
  async spendLogs(userId: string, fromDay: string, toDay: string): Promise<LiteLlmSpendLog[]> {
    const logs = await this.request<LiteLlmSpendLog[]>('/spend/logs', {
      query: { user_id: userId, start_date: fromDay, end_date: toDay },
    });
    return Array.isArray(logs) ? logs : [];
  }

  async ping(): Promise<void> {
    await this.request('/health/liveliness');
  }
}

function toAppError(error: unknown): AppError {
  if (error instanceof FetchError && error.statusCode !== undefined) {
    const status = error.statusCode;
    return new AppError('UPSTREAM_ERROR', `The LiteLLM proxy refused the request (HTTP ${status}).`, {
      retryable: status === 429 || status >= 500,
    });
  }
  return new AppError(
    'UPSTREAM_UNAVAILABLE',
    'The LiteLLM proxy could not be reached.',
    { retryable: true },
    { cause: error },
  );
}
