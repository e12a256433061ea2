import { useHealth } from '@hearth/react';

const TEXT = { ok: 'Healthy', degraded: 'Degraded', blocked: 'Blocked' } as const;

export function HealthBadge() {
  const { health, error } = useHealth();
  const status = health?.status;
  const title = health
    ? `agent ${health.agent.ready ? 'ready' : 'not ready'} · model ${health.llm.model}${health.budget.exceeded ? ' · budget exceeded' : ''}`
    : 'Checking the server…';
  return (
    <output className={`badge ${status ?? (error ? 'down' : '')}`} title={title} aria-label="Health">
      {status ? TEXT[status] : error ? 'Unreachable' : '…'}
    </output>
  );
}
