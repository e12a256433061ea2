import { useHealth } from '@hearth/react';

const TEXT = { ok: 'Healthy', degraded: 'Degraded', blocked: 'Blocked' } as const;

export function HealthBadge() {
  const health = useHealth();
  const status = health.data?.status;
  const title = health.data
    ? `agent ${health.data.agent.ready ? 'ready' : 'not ready'} · model ${health.data.llm.model}${health.data.budget.exceeded ? ' · budget exceeded' : ''}`
    : 'Checking the server…';
  return (
    <output className={`badge ${status ?? (health.error ? 'down' : '')}`} title={title} aria-label="Health">
      {status ? TEXT[status] : health.error ? 'Unreachable' : '…'}
    </output>
  );
}
