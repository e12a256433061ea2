export const DEFAULT_BLOCK_LIMIT = 20_000;

export interface BlockTemplate {
  label: string;
  value: string;
  limit: number;
  description: string;
}

/** The two blocks every agent starts with, as in Letta. */
export const DEFAULT_BLOCKS: readonly BlockTemplate[] = [
  {
    label: 'persona',
    value:
      'I am Hearth, a personal assistant. I remember what matters to the person I talk with, keep my ' +
      'memory up to date with my memory tools, and answer warmly and briefly.',
    limit: DEFAULT_BLOCK_LIMIT,
    description: 'Who the agent is: its personality and how it speaks. The agent may refine it over time.',
  },
  {
    label: 'human',
    value: '',
    limit: DEFAULT_BLOCK_LIMIT,
    description:
      'What the agent knows about the person it talks with: name, preferences, plans. Kept up to date with memory_insert and memory_replace.',
  },
];
