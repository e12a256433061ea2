import { APIError, type Letta } from '@letta-ai/letta-client';
import type { BlockResponse } from '@letta-ai/letta-client/resources/blocks/blocks';
import { z } from 'zod';
import { withAttachments } from '../../attachments/turn-content';
import type { MemoryBlock, MemoryVersion, Usage } from '../../domain/chat';
import { DEFAULT_BLOCK_LIMIT, DEFAULT_BLOCKS } from '../../domain/default-blocks';
import { AppError } from '../../domain/errors';
import { countTokens, truncateToTokens } from '../../llm/token-count';
import type {
  AgentInfo,
  AgentRuntime,
  AgentTurn,
  ArchivalInput,
  ArchivalPage,
  MemoryHistoryInput,
  MemoryHistoryPage,
} from '../../ports/agent-runtime';
import type { Clock } from '../../ports/clock';
import type { Ledger } from '../../ports/ledger';
import type { LettaAgentRecord, LettaAgentRepository } from '../../ports/letta-agent-repository';
import type { MemoryAuthor, MemoryVersionRepository } from '../../ports/memory-version-repository';
import { decodeCursor, encodeCursor, invalidCursor } from '../../store/cursor';
import { IdleTimeout } from './idle-timeout';
import { KeyedQueue } from './keyed-queue';
import { toMemoryBlock } from './letta-blocks';
import { lettaFailure } from './letta-errors';
import type { LettaMcpTools } from './letta-mcp-tools';
import { LettaStreamMapper, turnEnd } from './letta-stream-events';

export interface LettaRuntimeOptions {
  client: Letta;
  /** Which Letta agent is each user's (LettaAgentIds in Hearth's store). */
  agents: LettaAgentRepository;
  /** The history of each user's blocks, which Letta does not keep. */
  versions: MemoryVersionRepository;
  ledger: Ledger;
  clock: Clock;
  /** Handles (`provider/model`) new agents are created with. */
  model: string;
  embedding: string;
  /** Steps (model calls) one send may take; also how many steps its reservation pays for. */
  maxSteps: number;
  /** Output tokens per step, set on each new agent. */
  maxOutputTokens: number;
  /** The output cap per step of another model (agent.setModel); unset: `maxOutputTokens`. */
  maxOutputTokensFor?: (model: string) => number;
  /** A stream silent this long has stalled (Letta pings every 20 s while it works). */
  idleTimeoutMs: number;
  /** The operator's MCP servers, registered with Letta and attached to each agent. */
  mcp?: LettaMcpTools;
}

/** Letta's own system prompt and tool schemas, before Hearth has seen a turn's usage. */
const BASELINE_STEP_PROMPT_TOKENS = 2_000;
/** How often a streaming send tells the ledger what it has received, for billing after a crash. */
const PROGRESS_INTERVAL_MS = 1_000;

const tagOf = (userId: string) => `user:${userId}`;
/** Where the next page of archival memory starts: after this passage, for this query. */
const archivalCursor = z.strictObject({ id: z.string().regex(/^passage-[0-9a-f-]{36}$/), q: z.string().nullable() });
/** Passages read per request while looking for one. */
const PASSAGE_PAGE = 100;

/**
 * AGENT_BACKEND=letta: each user's agent is a Letta agent (tagged `user:<id>`, its id kept in
 * `letta_agents`), its core memory Letta's blocks, a turn one streamed send of the new user
 * message — Letta keeps the agent's context, Hearth keeps its own copy of each conversation.
 * Sends to one agent are serialized (Letta's behaviour under concurrent sends is undefined) and
 * each is reserved against the ledger before it goes out.
 */
export class LettaAgentRuntime implements AgentRuntime {
  readonly backend = 'letta' as const;
  readonly modelPerAgent = true;
  private readonly known = new Map<string, AgentInfo>();
  private readonly pending = new Map<string, Promise<AgentInfo>>();
  private readonly queue = new KeyedQueue();
  /** Per agent: the prompt of one step of its last turn, grown by that turn's answer. */
  private readonly stepPrompt = new Map<string, number>();

  constructor(private readonly options: LettaRuntimeOptions) {}

  /** For readiness: whether Letta answers. */
  async ping(): Promise<void> {
    await this.call(() => this.options.client.health());
  }

  async findAgent(userId: string): Promise<AgentInfo | null> {
    const known = this.known.get(userId);
    if (known) return known;
    const row = await this.options.agents.find(userId);
    return row ? this.remember(userId, row) : null;
  }

  ensureAgent(userId: string): Promise<AgentInfo> {
    const known = this.known.get(userId);
    if (known) return Promise.resolve(known);
    let pending = this.pending.get(userId);
    if (!pending) {
      pending = this.locateOrCreate(userId).finally(() => this.pending.delete(userId));
      this.pending.set(userId, pending);
    }
    return pending;
  }

  async memory(userId: string): Promise<MemoryBlock[]> {
    const agent = await this.ensureAgent(userId);
    const blocks = await this.blocks(agent.agentId);
    const latest = await this.reconcile(userId, blocks);
    return blocks
      .map((block) => toMemoryBlock(block, latest.get(block.label ?? ''), agent.createdAt))
      .sort((a, b) => a.label.localeCompare(b.label));
  }

  async updateMemory(userId: string, label: string, value: string) {
    const agent = await this.ensureAgent(userId);
    const blocks = await this.blocks(agent.agentId);
    const block = blocks.find((candidate) => candidate.label === label);
    if (!block) throw new AppError('NOT_FOUND', `There is no memory block "${label}".`);
    const limit = block.limit ?? DEFAULT_BLOCK_LIMIT;
    if (value.length > limit) {
      throw new AppError(
        'MEMORY_LIMIT',
        `The "${label}" block holds at most ${limit} characters; this value has ${value.length}.`,
        { fieldErrors: { value: [`At most ${limit} characters.`] } },
      );
    }
    // A change made in Letta since the last read becomes its own version first.
    await this.reconcile(userId, blocks);
    const updated = await this.call(() =>
      this.options.client.agents.blocks.update(label, { agent_id: agent.agentId, value }),
    );
    const version = await this.record(userId, label, updated.value, { by: 'user' });
    return { block: toMemoryBlock(updated, version, version.createdAt), version };
  }

  async memoryHistory(userId: string, input: MemoryHistoryInput): Promise<MemoryHistoryPage> {
    // Reading Letta's blocks first is what records a change made there directly.
    await this.memory(userId);
    return this.options.versions.page(userId, input);
  }

  memoryVersion(userId: string, versionId: string): Promise<MemoryVersion | null> {
    return this.options.versions.find(userId, versionId);
  }

  async resetMemory(userId: string): Promise<void> {
    const agent = await this.ensureAgent(userId);
    await this.reconcile(userId, await this.blocks(agent.agentId));
    for (const template of DEFAULT_BLOCKS) {
      const updated = await this.call(() =>
        this.options.client.agents.blocks.update(template.label, {
          agent_id: agent.agentId,
          value: template.value,
          limit: template.limit,
          description: template.description,
        }),
      );
      await this.reconcile(userId, [updated]);
    }
  }

  async archival(userId: string, input: ArchivalInput): Promise<ArchivalPage> {
    const agent = await this.ensureAgent(userId);
    const query = input.query ?? null;
    const after = input.cursor ? decodeCursor(archivalCursor, input.cursor) : undefined;
    if (after && after.q !== query) throw invalidCursor();
    const found = await this.call(() =>
      this.options.client.agents.passages.list(agent.agentId, {
        ascending: false,
        limit: input.limit + 1,
        ...(query === null ? {} : { search: query }),
        ...(after ? { after: after.id } : {}),
      }),
    );
    const page = found.slice(0, input.limit);
    const last = page.at(-1)?.id;
    return {
      // Letta's schema leaves a passage's id optional; one without cannot be deleted or paged past.
      passages: page.flatMap((passage) =>
        passage.id
          ? [
              {
                id: passage.id,
                content: passage.text,
                tags: passage.tags ?? [],
                createdAt: passage.created_at ? new Date(passage.created_at) : agent.createdAt,
              },
            ]
          : [],
      ),
      nextCursor: found.length > input.limit && last ? encodeCursor({ id: last, q: query }) : null,
    };
  }

  async deleteArchival(userId: string, passageId: string): Promise<void> {
    const agent = await this.findAgent(userId);
    if (!agent || !(await this.holdsPassage(agent.agentId, passageId))) {
      throw new AppError('NOT_FOUND', 'That archival memory passage does not exist.');
    }
    await this.call(() => this.options.client.agents.passages.delete(passageId, { agent_id: agent.agentId }));
  }

  /**
   * Whether the passage is in this agent's archive. Letta deletes a passage of its organisation by
   * id whatever agent the path names, and every user's agent is in Hearth's one organisation: the
   * id is looked for in the agent's own passages first.
   */
  private async holdsPassage(agentId: string, passageId: string): Promise<boolean> {
    let after: string | undefined;
    for (;;) {
      const page = await this.call(() =>
        this.options.client.agents.passages.list(agentId, {
          ascending: true,
          limit: PASSAGE_PAGE,
          ...(after ? { after } : {}),
        }),
      );
      if (page.some((passage) => passage.id === passageId)) return true;
      after = page.at(-1)?.id;
      if (page.length < PASSAGE_PAGE || !after) return false;
    }
  }

  /**
   * Switches the user's agent to another model handle (`PATCH /v1/agents/{id}`, with the output cap
   * that model takes), between sends: queued behind the agent's send in flight, if one is.
   */
  async setModel(userId: string, model: string): Promise<AgentInfo> {
    const agent = await this.ensureAgent(userId);
    const maxTokens = this.options.maxOutputTokensFor?.(model) ?? this.options.maxOutputTokens;
    await this.queue.run(agent.agentId, () =>
      this.call(() => this.options.client.agents.update(agent.agentId, { model, max_tokens: maxTokens })),
    );
    const row = await this.options.agents.setModel(userId, model);
    this.stepPrompt.delete(agent.agentId);
    const info = { ...this.remember(userId, row), lastActiveAt: agent.lastActiveAt };
    this.known.set(userId, info);
    return info;
  }

  async deleteAgent(userId: string): Promise<void> {
    const agent = await this.findAgent(userId);
    if (!agent) return;
    await this.queue.run(agent.agentId, async () => {
      try {
        await this.options.client.agents.delete(agent.agentId);
      } catch (error) {
        // Deleted in Letta already: what was asked is done.
        if (!(error instanceof APIError && error.status === 404)) throw lettaFailure(error);
      }
    });
    this.known.delete(userId);
    this.stepPrompt.delete(agent.agentId);
  }

  async resetMessages(userId: string): Promise<void> {
    const agent = await this.findAgent(userId);
    if (!agent) return;
    await this.queue.run(agent.agentId, () =>
      this.call(() =>
        this.options.client.agents.messages.reset(agent.agentId, { add_default_initial_messages: false }),
      ),
    );
    this.stepPrompt.delete(agent.agentId);
  }

  async runTurn(turn: AgentTurn): Promise<{ usage: Usage }> {
    const { agentId } = await this.ensureAgent(turn.userId);
    return this.queue.run(
      agentId,
      async () => {
        await this.options.mcp?.attach(agentId);
        return this.send(agentId, turn);
      },
      turn.signal,
    );
  }

  /**
   * One send: reserve for `maxSteps` steps of the agent's context and output, stream, settle with
   * Letta's usage_statistics (or, if the stream broke off, with what arrived), report the usage.
   */
  private async send(agentId: string, turn: AgentTurn): Promise<{ usage: Usage }> {
    const { client, ledger, maxSteps } = this.options;
    const maxOutputTokens = this.options.maxOutputTokensFor?.(turn.model) ?? this.options.maxOutputTokens;
    const baseline = BASELINE_STEP_PROMPT_TOKENS + (this.options.mcp?.schemaTokens() ?? 0);
    const promptTokens =
      (this.stepPrompt.get(agentId) ?? baseline) +
      countTokens(withAttachments(turn.userMessage, turn.attachments).content);
    const grant = await ledger.reserve({
      userId: turn.userId,
      runId: turn.runId,
      model: turn.model,
      promptTokens,
      maxOutputTokens,
      steps: maxSteps,
    });
    const mapper = new LettaStreamMapper();
    const idle = new IdleTimeout(this.options.idleTimeoutMs);
    // Letta's model may ignore the agent's max_tokens: the send is stopped at the output its grant pays for.
    const stop = new AbortController();
    const signal = AbortSignal.any([turn.signal, idle.signal, stop.signal]);
    const allowance = Math.min(maxSteps, grant.steps) * grant.maxOutputTokens;
    let received = '';
    // Counted piece by piece as it arrives: text, reasoning and tool-call arguments, all billed as output.
    let metered = 0;
    let cut = false;
    let lastProgress = Date.now();
    let usage: Usage = { promptTokens: 0, completionTokens: 0, costUsd: 0 };
    try {
      try {
        idle.arm();
        const stream = await client.agents.messages.create(
          agentId,
          {
            messages: [{ role: 'user', content: lettaContent(turn), otid: turn.runId }],
            streaming: true,
            stream_tokens: true,
            include_pings: true,
            max_steps: Math.min(maxSteps, grant.steps),
          },
          { signal },
        );
        for await (const chunk of stream) {
          idle.arm();
          if (chunk.message_type === 'tool_call_message') {
            const piece = (chunk.tool_call.name ?? '') + (chunk.tool_call.arguments ?? '');
            metered += countTokens(piece);
            received += piece;
          }
          const { events, editedBlock } = mapper.push(chunk);
          for (const event of events) {
            if (event.type === 'text.delta' || event.type === 'reasoning.delta') {
              const tokens = countTokens(event.text);
              if (metered + tokens > allowance) {
                const kept = truncateToTokens(event.text, allowance - metered);
                received += kept;
                if (kept) turn.emit({ ...event, text: kept });
                metered = allowance + 1;
                break;
              }
              metered += tokens;
              received += event.text;
            }
            turn.emit(this.options.mcp?.rename(event) ?? event);
          }
          if (metered > allowance) {
            cut = true;
            stop.abort();
            break;
          }
          if (editedBlock) await this.announceEdit(agentId, editedBlock, turn, signal);
          if (Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
            lastProgress = Date.now();
            // Not awaited: the stream must not wait on the store. A lost report only costs accuracy after a crash.
            ledger.progress(grant, countTokens(received)).catch(() => {});
          }
        }
        // A tool call cut off mid-way is not announced.
        if (!cut) for (const event of mapper.finish()) turn.emit(this.options.mcp?.rename(event) ?? event);
      } catch (error) {
        if (!signal.aborted) throw lettaFailure(error);
      }
      if (signal.aborted) {
        // Letta goes on with a run whose stream was dropped; stop it before the next send starts.
        await this.cancelUpstream(agentId, mapper.runId);
        if (turn.signal.aborted) throw new DOMException('The run was cancelled', 'AbortError');
        // Stopped at its grant: the answer ends there, as at Letta's own max_tokens_exceeded.
        if (!cut) throw new AppError('UPSTREAM_TIMEOUT', 'The agent backend stopped answering.', { retryable: true });
      } else {
        const end = turnEnd(mapper.stopReason);
        if (end.kind === 'failed') throw end.error;
        if (end.kind === 'cancelled') {
          throw new AppError('UPSTREAM_ERROR', 'The agent backend cancelled the answer.', { retryable: true });
        }
      }
    } finally {
      idle.clear();
      if (await turn.accepted) {
        const used = mapper.usage ?? { promptTokens, completionTokens: countTokens(received) };
        const { costMicros } = await ledger.settle(grant, used);
        if (mapper.usage && mapper.usage.stepCount > 0) {
          this.stepPrompt.set(
            agentId,
            Math.ceil(mapper.usage.promptTokens / mapper.usage.stepCount) + mapper.usage.completionTokens,
          );
        }
        usage = { promptTokens: used.promptTokens, completionTokens: used.completionTokens, costUsd: costMicros / 1e6 };
        turn.emit({ type: 'usage', ...usage });
        this.touch(turn.userId);
      } else {
        // The send failed before its message was stored: nothing of this turn is billed.
        await ledger.release(grant);
      }
    }
    return { usage };
  }

  /** The agent edited a block: read it back, record it as the agent's in this run, and tell the client. */
  private async announceEdit(agentId: string, label: string, turn: AgentTurn, signal: AbortSignal): Promise<void> {
    const block = await this.options.client.agents.blocks.retrieve(label, { agent_id: agentId }, { signal });
    const version = await this.record(turn.userId, label, block.value, {
      by: 'agent',
      runId: turn.runId,
      messageId: turn.userMessageId,
    });
    turn.emit({
      type: 'memory.updated',
      block: toMemoryBlock(block, version, version.createdAt),
      versionId: version.id,
    });
  }

  /** Records a change Hearth made or saw, after the newest version of its block. */
  private record(userId: string, label: string, value: string, author: MemoryAuthor): Promise<MemoryVersion> {
    const { versions, clock } = this.options;
    return versions.serialized(userId, async (held) => {
      const previous = (await held.latest(userId)).get(label);
      return held.record({ userId, label, value, previousValue: previous?.value ?? null, author, at: clock.now() });
    });
  }

  /**
   * Brings the history up to Letta's blocks: a value no version holds was written in Letta by
   * someone other than Hearth (or by an agent step Hearth never saw), and becomes a `system`
   * version. Returns the newest version of each block.
   */
  private async reconcile(
    userId: string,
    blocks: ReadonlyArray<Pick<BlockResponse, 'label' | 'value'>>,
  ): Promise<Map<string, MemoryVersion>> {
    const { versions, clock } = this.options;
    const differs = (latest: Map<string, MemoryVersion>) =>
      blocks.filter((block) => latest.get(block.label ?? '')?.value !== block.value);
    const latest = await versions.latest(userId);
    if (differs(latest).length === 0) return latest;
    return versions.serialized(userId, async (held) => {
      const current = await held.latest(userId);
      for (const block of differs(current)) {
        const label = block.label ?? '';
        const version = await held.record({
          userId,
          label,
          value: block.value,
          previousValue: current.get(label)?.value ?? null,
          author: { by: 'system' },
          at: clock.now(),
        });
        current.set(label, version);
      }
      return current;
    });
  }

  private async cancelUpstream(agentId: string, runId: string | null): Promise<void> {
    // Best effort: Letta cancels only with Redis configured, and the stream is already closed here.
    await this.options.client.agents.messages.cancel(agentId, runId ? { run_ids: [runId] } : {}).catch(() => {});
  }

  private async locateOrCreate(userId: string): Promise<AgentInfo> {
    const { agents, client } = this.options;
    const row = await agents.find(userId);
    if (row) return this.remember(userId, row);
    // Found by tag: an agent made for this user before its id reached this store (a lost row, another database).
    const page = await this.call(() =>
      client.agents.list({ tags: [tagOf(userId)], match_all_tags: true, order: 'asc', limit: 1 }),
    );
    const existing = page.items[0];
    if (existing) return this.remember(userId, await agents.claim(userId, existing.id));
    const created = await this.call(() =>
      client.agents.create({
        name: `hearth-${userId}`,
        agent_type: 'letta_v1_agent',
        model: this.options.model,
        embedding: this.options.embedding,
        max_tokens: this.options.maxOutputTokens,
        memory_blocks: DEFAULT_BLOCKS.map((block) => ({
          label: block.label,
          value: block.value,
          limit: block.limit,
          description: block.description,
        })),
        tags: [tagOf(userId)],
        metadata: { hearth_user_id: userId },
      }),
    );
    const claimed = await agents.claim(userId, created.id);
    // Another process created one at the same moment and recorded it first: keep one agent per user.
    if (claimed.lettaAgentId !== created.id) await client.agents.delete(created.id).catch(() => {});
    // The default blocks are the first versions.
    else await this.reconcile(userId, created.blocks);
    return this.remember(userId, claimed);
  }

  private remember(userId: string, row: LettaAgentRecord): AgentInfo {
    const info: AgentInfo = {
      agentId: row.lettaAgentId,
      model: row.model ?? this.options.model,
      createdAt: row.createdAt,
      lastActiveAt: row.createdAt,
    };
    this.known.set(userId, info);
    return info;
  }

  private touch(userId: string): void {
    const known = this.known.get(userId);
    if (known) this.known.set(userId, { ...known, lastActiveAt: this.options.clock.now() });
  }

  private async blocks(agentId: string): Promise<BlockResponse[]> {
    const page = await this.call(() => this.options.client.agents.blocks.list(agentId));
    return page.items;
  }

  private async call<T>(request: () => PromiseLike<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw lettaFailure(error);
    }
  }
}

/**
 * The user message as Letta's MessageCreate takes it: the text (with the text of attached files), and
 * with images a list of content parts, each image an ImageContent with a base64 source.
 */
function lettaContent(turn: AgentTurn) {
  const { content, images } = withAttachments(turn.userMessage, turn.attachments);
  if (images.length === 0) return content;
  return [
    { type: 'text' as const, text: content },
    ...images.map((image) => ({
      type: 'image' as const,
      source: { type: 'base64' as const, media_type: image.mediaType, data: image.data },
    })),
  ];
}
