import type { BlockResponse } from '@letta-ai/letta-client/resources/blocks/blocks';
import type { MemoryBlock, MemoryVersion } from '../../domain/chat';
import { DEFAULT_BLOCK_LIMIT } from '../../domain/default-blocks';

/**
 * A Letta block as the contract's MemoryBlock. Letta records no author or time of an edit: both
 * come from the block's newest version in Hearth's store, which `LettaAgentRuntime` has brought up
 * to date with the block's value before this is called.
 */
export function toMemoryBlock(
  block: BlockResponse,
  version: MemoryVersion | undefined,
  fallbackTime: Date,
): MemoryBlock {
  return {
    label: block.label ?? '',
    value: block.value,
    limit: block.limit ?? DEFAULT_BLOCK_LIMIT,
    description: block.description ?? '',
    updatedAt: version?.createdAt ?? fallbackTime,
    updatedBy: version?.updatedBy ?? 'system',
  };
}
