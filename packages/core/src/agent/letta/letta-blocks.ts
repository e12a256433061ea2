import { createHash } from 'node:crypto';
import type { BlockResponse } from '@letta-ai/letta-client/resources/blocks/blocks';
import type { MemoryBlock } from '../../domain/chat';
import { DEFAULT_BLOCK_LIMIT } from '../default-blocks';

/**
 * Letta blocks carry no author or time of their last edit, which the contract's MemoryBlock has.
 * Hearth keeps them in the block's metadata with a hash of the value it stamped: a value that no
 * longer matches its stamp was changed since by someone else, i.e. by the agent.
 */
interface Stamp {
  updated_by: MemoryBlock['updatedBy'];
  updated_at: string;
  value_sha256: string;
}

const STAMP_KEY = 'hearth';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Metadata that records an edit of `value` by `by` at `at`, merged into what the block already holds. */
export function stampedMetadata(
  current: BlockResponse['metadata'],
  value: string,
  by: MemoryBlock['updatedBy'],
  at: Date,
): Record<string, unknown> {
  const stamp: Stamp = { updated_by: by, updated_at: at.toISOString(), value_sha256: sha256(value) };
  return { ...(current ?? {}), [STAMP_KEY]: stamp };
}

/** A Letta block as the contract's MemoryBlock; `fallbackTime` dates edits nobody stamped. */
export function toMemoryBlock(block: BlockResponse, fallbackTime: Date): MemoryBlock {
  const stamp = readStamp(block.metadata);
  const current = stamp !== null && stamp.value_sha256 === sha256(block.value);
  return {
    label: block.label ?? '',
    value: block.value,
    limit: block.limit ?? DEFAULT_BLOCK_LIMIT,
    description: block.description ?? '',
    updatedAt: stamp ? new Date(stamp.updated_at) : fallbackTime,
    updatedBy: current ? stamp.updated_by : 'agent',
  };
}

function readStamp(metadata: BlockResponse['metadata']): Stamp | null {
  const stamp = metadata?.[STAMP_KEY];
  if (typeof stamp !== 'object' || stamp === null) return null;
  const { updated_by, updated_at, value_sha256 } = stamp as Partial<Stamp>;
  if (typeof updated_at !== 'string' || typeof value_sha256 !== 'string') return null;
  if (updated_by !== 'user' && updated_by !== 'agent' && updated_by !== 'system') return null;
  return { updated_by, updated_at, value_sha256 };
}
