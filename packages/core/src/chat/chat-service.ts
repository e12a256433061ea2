import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Conversation,
  isTerminal,
  type Message,
  type ModelInfo,
  type RunEvent,
  type RunStatus,
  type Usage,
} from '../domain/chat';
import { AppError, isAppError, runActiveError } from '../domain/errors';
import type { AuthenticatedUser } from '../domain/user';
import type { AgentInfo, AgentRuntime, TurnAttachment, TurnEvent } from '../ports/agent-runtime';
import type { ChatOperations, EditInput, RegenerateInput, SendInput, SendOrigin, StreamedEvent } from '../ports/chat';
import type { Clock } from '../ports/clock';
import type { ConversationRepository, ConversationSettings } from '../ports/conversation-repository';
import type { MessageRepository } from '../ports/message-repository';
import type { RateLimiter } from '../ports/rate-limiter';
import type { RunEventHub } from '../ports/run-event-hub';
import type { BranchConflict, RunRecord, RunRepository, RunStart, StartedRun } from '../ports/run-repository';
import type { RunSignals } from '../ports/run-signals';
import type { SharedRunEvents } from '../ports/shared-run-events';
import type { StreamCap, StreamSlots } from '../ports/stream-slots';
import { inSpan } from '../tracing/tracing';
import { againOnStoreFailure } from './again-on-store-failure';
import type { TitleWriter } from './conversation-titles';
import { DeltaCoalescer } from './delta-coalescer';
import type { ModelCatalog } from './model-catalog';
import { runEndedEarly, runEndTraced, runSpanAttributes } from './run-tracing';

export interface ChatLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface ChatServiceOptions {
  conversations: ConversationRepository;
  messages: MessageRepository;
  runs: RunRepository;
  hub: RunEventHub;
  runtime: AgentRuntime;
  clock: Clock;
  logger: ChatLogger;
  /** Models a client may ask for, with their prices; the first is the default. */
  models: ModelCatalog;
  /**
   * Writes the title of a conversation that has none, from its first message, beside the answer.
   * Unset: conversations keep the title the user gives them.
   */
  titles?: TitleWriter | null | undefined;
  /** Earlier messages loaded as a turn's history (the runtime trims them to the context window). */
  historyLimit: number;
  /** Text deltas within this long of the last one sent are merged into one event (see DeltaCoalescer). */
  deltaBatchMs?: number;
  /** Reaches runs that live in another process sharing the store. */
  signals: RunSignals;
  /** Caps the event streams open at once per user and per run. */
  streamSlots: StreamSlots;
  /**
   * The events of runs live in other processes (REDIS_URL). Without it a subscriber on a process
   * that is not running the run gets only its end, read from the store.
   */
  sharedEvents?: SharedRunEvents | null | undefined;
  /** Per-user limits; counted through `rateLimiter` (shared by all instances when it is Redis). */
  limits?: ChatLimits | undefined;
  /** The files of a stored user message, for a turn that answers it again (regenerate); unset: none. */
  turnAttachments?: ((userId: string, userMessageId: string) => Promise<TurnAttachment[]>) | undefined;
}

export interface ChatLimits {
  rateLimiter: RateLimiter;
  sendsPerMinute: number;
  runsPerUser: number;
  /**
   * Other processes may be running this user's runs (a shared PostgreSQL): count the store's
   * active runs too, not only this process's.
   */
  sharedStore: boolean;
}

/** How long a cancel waits for a run in another process to stop before answering with its status. */
const REMOTE_CANCEL_WAIT_MS = 5_000;

/**
 * How often a streaming run saves the text it has so far, so a crash loses at most this much of it.
 * One write a second per streaming run, never one per token.
 */
const PARTIAL_SAVE_INTERVAL_MS = 1_000;

/** How often a subscriber waits on a run live in another process checks whether it has ended. */
const REMOTE_RUN_POLL_MS = 250;

const EMPTY_USAGE: Usage = { promptTokens: 0, completionTokens: 0, costUsd: 0 };

/** The id of the one event a run that is no longer in memory streams: its end, read from the store. */
const FINAL_EVENT_ID = 'final';

/** A refused stream may open once one of the caller's others has closed, which cannot be foreseen. */
const STREAM_RETRY_AFTER_SECONDS = 5;

/** Chat runs: accept a message, run the agent in the background, stream and persist what it says. */
export class ChatService implements ChatOperations {
  /** Sends of each user admitted in this process and not yet in the hub (or failed). */
  private readonly starting = new Map<string, number>();
  /** Runs whose title is being written here: they beat while it is, even after the run ended. */
  private readonly titling = new Set<string>();

  constructor(private readonly options: ChatServiceOptions) {}

  /** `origin.requestId` goes on the run's log lines, so an operator can follow a request into its run. */
  async send(caller: AuthenticatedUser, input: SendInput, origin: SendOrigin = {}): Promise<StartedRun> {
    const { runs } = this.options;
    // A send repeated with its clientMessageId is answered with the first run, and counts once.
    if (input.clientMessageId) {
      const earlier = await runs.runByClientMessageId(caller.id, input.clientMessageId);
      if (earlier) return sameSend(earlier, input);
    }
    const releaseStart = await this.admitSend(caller.id);
    try {
      return await this.start(caller, input, origin);
    } finally {
      releaseStart();
    }
  }

  /**
   * The user's limits, checked before anything is written: sends per minute, and runs at once
   * (those live here, those starting here right now, and, on a shared store, those elsewhere).
   * Resolves to what gives the starting slot back once the run is in the hub or the send failed.
   */
  private async admitSend(userId: string): Promise<() => void> {
    const { limits, hub } = this.options;
    if (!limits) return () => {};
    const startingHere = this.starting.get(userId) ?? 0;
    // Counted before the awaits below, so sends racing in this process see each other.
    this.starting.set(userId, startingHere + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.starting.get(userId) ?? 1) - 1;
      if (left > 0) this.starting.set(userId, left);
      else this.starting.delete(userId);
    };
    try {
      const rate = await limits.rateLimiter.hit(`send:${userId}`, limits.sendsPerMinute, 60_000);
      if (!rate.allowed) {
        throw new AppError('RATE_LIMITED', 'Too many messages in the last minute: wait a moment and send again.', {
          retryAfterSeconds: Math.max(1, Math.ceil(rate.retryAfterMs / 1000)),
        });
      }
      const active = new Set(hub.liveRunIdsOf(userId));
      if (limits.sharedStore) for (const runId of await this.options.runs.activeRunIds(userId)) active.add(runId);
      if (active.size + startingHere >= limits.runsPerUser) {
        await limits.rateLimiter.refund(`send:${userId}`);
        throw new AppError(
          'RATE_LIMITED',
          `Up to ${limits.runsPerUser} answers can be written for you at once: wait for one to finish or cancel it.`,
          { retryAfterSeconds: STREAM_RETRY_AFTER_SECONDS },
        );
      }
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }

  private async start(caller: AuthenticatedUser, input: SendInput, origin: SendOrigin): Promise<StartedRun> {
    const { conversations, runs, runtime, models } = this.options;
    if (input.model !== undefined) models.check(input.model);
    const agent = await runtime.ensureAgent(caller.id);
    let model = '';
    let untitled = false;
    const start = async (conversationId: string) => {
      const settings = await conversations.conversationSettings(caller.id, conversationId);
      model = this.modelFor(agent, input.model, settings);
      untitled = settings !== null && !settings.titled;
      // The send's files: refused here when the model cannot take them, else their bytes are stored.
      await input.prepared?.admit(model);
      return runs.startRun({
        userId: caller.id,
        conversationId,
        text: input.text,
        model,
        clientMessageId: input.clientMessageId,
      });
    };
    let started = await start(input.conversationId ?? (await conversations.defaultConversationId(caller.id)));
    if (!input.conversationId && 'conflict' in started && started.conflict === 'no_conversation') {
      // The remembered default conversation was deleted (perhaps by another process): find or make it anew.
      conversations.forgetDefault(caller.id);
      started = await start(await conversations.defaultConversationId(caller.id));
    }
    if ('conflict' in started) {
      if (started.conflict === 'no_conversation') throw new AppError('NOT_FOUND', 'That conversation does not exist.');
      if (started.conflict === 'duplicate' && input.clientMessageId) {
        const earlier = await runs.runByClientMessageId(caller.id, input.clientMessageId);
        if (earlier) return sameSend(earlier, input);
      }
      throw runActiveError();
    }
    return this.launch(caller, started, model, origin, untitled, input.prepared?.items);
  }

  /**
   * A new run answering the conversation's last user message again (`messageId`: the last answer, or
   * that message). Admitted, stored, billed and streamed as a send is; the old answer stays, a version.
   */
  async regenerate(caller: AuthenticatedUser, input: RegenerateInput, origin: SendOrigin = {}): Promise<StartedRun> {
    const releaseStart = await this.admitSend(caller.id);
    try {
      const { model, untitled } = await this.rerunModel(caller, input.messageId, input.model);
      const started = await this.options.runs.startRegenerate({
        userId: caller.id,
        messageId: input.messageId,
        model,
      });
      return await this.launch(caller, branchStarted(started), model, origin, untitled);
    } finally {
      releaseStart();
    }
  }

  /**
   * A new version of the user message `messageId` with `text`, and a run answering it from there, as a
   * send is run. The edited message and what followed it stay, on their own branch.
   */
  async editMessage(caller: AuthenticatedUser, input: EditInput, origin: SendOrigin = {}): Promise<StartedRun> {
    const releaseStart = await this.admitSend(caller.id);
    try {
      const { model, untitled } = await this.rerunModel(caller, input.messageId, input.model);
      const started = await this.options.runs.startEdit({
        userId: caller.id,
        messageId: input.messageId,
        text: input.text,
        model,
      });
      return await this.launch(caller, branchStarted(started), model, origin, untitled);
    } finally {
      releaseStart();
    }
  }

  /** Shows (and answers from) the branch through `messageId`: its newest version at each point below. */
  async switchBranch(
    caller: AuthenticatedUser,
    messageId: string,
  ): Promise<{ conversationId: string; leafId: string }> {
    const switched = await this.options.messages.switchBranch(caller.id, messageId);
    if ('conflict' in switched) {
      if (switched.conflict === 'run_active') throw runActiveError();
      throw notFoundMessage();
    }
    return switched;
  }

  /** A regenerate's or an edit's model, chosen as a send's is in the message's conversation. */
  private async rerunModel(caller: AuthenticatedUser, messageId: string, requested: string | undefined) {
    const { conversations, messages, runtime, models } = this.options;
    if (requested !== undefined) models.check(requested);
    const agent = await runtime.ensureAgent(caller.id);
    const conversationId = await messages.conversationOfMessage(caller.id, messageId);
    if (!conversationId) throw notFoundMessage();
    const settings = await conversations.conversationSettings(caller.id, conversationId);
    return { model: this.modelFor(agent, requested, settings), untitled: settings !== null && !settings.titled };
  }

  /** Runs a stored start in the background; answers once its message and run are stored. */
  private async launch(
    caller: AuthenticatedUser,
    started: RunStart,
    model: string,
    origin: SendOrigin,
    untitled: boolean,
    attachments?: readonly TurnAttachment[],
  ): Promise<StartedRun> {
    const { stored, ...run } = started;
    const { hub } = this.options;
    const signal = hub.open(run.runId, caller.id);
    // Started before the answer to send is written, and before a write that went behind is done:
    // the model request, not this response, is what the first token waits for (the client
    // subscribes while the model thinks).
    // Its span is a child of the request's, and outlives it: the run streams on after send answers.
    const writeTitle = untitled && Boolean(this.options.titles);
    void inSpan('chat.run', runSpanAttributes(run, caller.id, model, origin.requestId), () =>
      this.execute(caller.id, run, stored, model, signal, origin.requestId ?? null, writeTitle, attachments),
    );
    await stored.catch((error: unknown) => {
      // Never stored, so never started as far as anyone knows: stop the model call, keep no trace.
      hub.discard(run.runId);
      throw error;
    });
    return run;
  }

  /**
   * The model of a send: the one it names, else its conversation's (while the server still offers
   * it), else the default. Where an agent has one model (Letta) it is that model, and a send naming
   * another is refused: switching it is agent.setModel's, for every conversation at once.
   */
  private modelFor(agent: AgentInfo, requested: string | undefined, settings: ConversationSettings | null): string {
    const { runtime, models } = this.options;
    if (runtime.modelPerAgent) {
      if (requested !== undefined && requested !== agent.model) {
        throw new AppError(
          'INVALID_INPUT',
          `Your agent answers every conversation with "${agent.model}": switch it with agent.setModel.`,
          { fieldErrors: { model: [`This agent backend runs one model per agent: "${agent.model}".`] } },
        );
      }
      return agent.model;
    }
    if (requested !== undefined) return requested;
    const chosen = settings?.model;
    return chosen && models.has(chosen) ? chosen : models.defaultModel;
  }

  async models(_caller: AuthenticatedUser): Promise<{ models: ModelInfo[] }> {
    return { models: this.options.models.list() };
  }

  /**
   * Events of a run after `lastEventId`; for a run that ended long ago, its terminal event alone.
   * Each stream holds one of the caller's stream slots until it ends, however it ends.
   */
  async events(
    caller: AuthenticatedUser,
    runId: string,
    lastEventId: string | null | undefined,
    signal: AbortSignal,
  ): Promise<AsyncIterable<StreamedEvent>> {
    const { hub, streamSlots } = this.options;
    const seen = eventsSeen(lastEventId);
    // A live run is owned in memory; only older runs need the store to say whose they are.
    const run = hub.ownerOf(runId) === caller.id ? null : await this.options.runs.run(caller.id, runId);
    let events: AsyncIterable<StreamedEvent>;
    if (hub.has(runId)) {
      if (seen !== 'all' && seen > hub.publishedCount(runId)) throw unknownEventIdError();
      events = seen === 'all' ? noEvents() : hub.follow(runId, seen, signal);
    } else {
      if (!run) throw new AppError('NOT_FOUND', 'That run does not exist.');
      events = seen === 'all' ? noEvents() : this.followElsewhere(run, seen, signal);
    }
    const slot = await streamSlots.acquire(caller.id, runId);
    if (!slot.granted) throw streamCapError(slot.cap);
    return holdingSlot(events, slot.release, signal);
  }

  async cancel(caller: AuthenticatedUser, runId: string): Promise<{ runId: string; status: RunStatus }> {
    const { runs, hub, signals } = this.options;
    let run = await runs.run(caller.id, runId);
    if (hub.has(runId)) {
      await hub.cancel(runId);
    } else if (isActive(run.status)) {
      // Live in another process: ask it, then wait a little for the run to end there.
      await signals.requestCancel(runId);
      const deadline = performance.now() + REMOTE_CANCEL_WAIT_MS;
      while (isActive(run.status) && performance.now() < deadline) {
        await sleep(REMOTE_RUN_POLL_MS / 5);
        run = await runs.run(caller.id, runId);
      }
      return { runId, status: run.status };
    }
    run = await runs.run(caller.id, runId);
    return { runId, status: run.status };
  }

  /** The runs this process is writing a title for (see ChatStore.endedRunsHoldingReservations). */
  titlingRunIds(): string[] {
    return [...this.titling];
  }

  /** Ends every queued or running run of the user (an operator disabled the account), here or where it runs. */
  async cancelUserRuns(userId: string): Promise<number> {
    const { runs, hub, signals } = this.options;
    const runIds = await runs.activeRunIds(userId);
    await Promise.all(runIds.map((runId) => (hub.has(runId) ? hub.cancel(runId) : signals.requestCancel(runId))));
    return runIds.length;
  }

  async history(
    caller: AuthenticatedUser,
    input: { conversationId?: string | undefined; cursor?: string | undefined; limit: number },
  ) {
    const conversation = input.conversationId
      ? await this.options.conversations.conversation(caller.id, input.conversationId)
      : await this.options.conversations.defaultConversation(caller.id);
    return this.options.messages.history(caller.id, conversation.id, input.cursor, input.limit);
  }

  conversations(caller: AuthenticatedUser, input: { cursor?: string | undefined; limit: number }) {
    return this.options.conversations.listConversations(caller.id, input.cursor, input.limit);
  }

  createConversation(
    caller: AuthenticatedUser,
    input: { title?: string | undefined; model?: string | undefined },
  ): Promise<Conversation> {
    const model = input.model === undefined ? null : this.conversationModel(input.model);
    return this.options.conversations.createConversation(caller.id, input.title ?? null, model);
  }

  setConversationModel(caller: AuthenticatedUser, conversationId: string, model: string | null): Promise<Conversation> {
    return this.options.conversations.setConversationModel(
      caller.id,
      conversationId,
      model === null ? null : this.conversationModel(model),
    );
  }

  /** A model a conversation may keep: an offered one, where models are chosen per conversation. */
  private conversationModel(model: string): string {
    if (this.options.runtime.modelPerAgent) {
      throw new AppError(
        'INVALID_INPUT',
        'Here your agent has one model for every conversation: switch it with agent.setModel.',
        { fieldErrors: { model: ['This agent backend runs one model per agent.'] } },
      );
    }
    return this.options.models.check(model);
  }

  renameConversation(caller: AuthenticatedUser, conversationId: string, title: string): Promise<Conversation> {
    return this.options.conversations.renameConversation(caller.id, conversationId, title);
  }

  async deleteConversation(caller: AuthenticatedUser, conversationId: string): Promise<void> {
    await this.options.conversations.deleteConversation(caller.id, conversationId);
  }

  private async execute(
    userId: string,
    started: StartedRun,
    stored: Promise<void>,
    model: string,
    signal: AbortSignal,
    requestId: string | null,
    writeTitle: boolean,
    sentAttachments?: readonly TurnAttachment[],
  ): Promise<void> {
    const { messages, runs, hub, runtime, clock, logger, historyLimit } = this.options;
    const runId = started.runId;
    const startedAt = performance.now();
    const ids = { requestId, userId, runId };
    const events = new DeltaCoalescer((event) => hub.publish(runId, event), this.options.deltaBatchMs);
    // Nothing follows the terminal event: a title stored after it is only in the store.
    let ended = false;
    const publish = (event: RunEvent) => {
      if (!ended) events.push(event);
    };
    const title = writeTitle ? this.titleBeside(userId, started, model, stored, signal, ids, publish) : null;
    const record = {
      id: runId,
      userId,
      conversationId: started.conversationId,
      userMessageId: started.userMessage.id,
    };
    // Chosen now, so the partial text saved while streaming and the final message are one row.
    const messageId = randomUUID();
    let text = '';
    let firstTokenAt: Date | null = null;
    const usage: Usage = { ...EMPTY_USAGE };
    let lastSave = performance.now();
    let saving: Promise<void> | null = null;
    const savePartial = () => {
      lastSave = performance.now();
      const upTo = text;
      // Written behind the stream, one save at a time; a lost save costs only what a crash would keep.
      saving = stored
        .then(
          () =>
            runs
              .savePartial(record, messageId, upTo)
              .catch((error: unknown) =>
                logger.warn({ ...ids, err: error }, 'could not save the text of a run so far'),
              ),
          // Never stored: the send fails with that error, and the run is discarded.
          () => {},
        )
        .finally(() => {
          saving = null;
        });
    };
    let outcome: 'completed' | 'failed' | 'cancelled' = 'completed';
    publish({
      type: 'run.started',
      runId,
      conversationId: started.conversationId,
      model,
      userMessageId: started.userMessage.id,
    });
    try {
      const context = await messages.turnContext(started.conversationId, started.userMessage.id, historyLimit);
      const attachments =
        sentAttachments ?? (await this.options.turnAttachments?.(userId, started.userMessage.id)) ?? [];
      await runtime.runTurn({
        userId,
        conversationId: started.conversationId,
        runId,
        userMessageId: started.userMessage.id,
        model,
        history: context.history,
        summary: context.summary,
        saveSummary: (summary, throughSeq) => messages.saveSummary(started.conversationId, summary, throughSeq),
        userMessage: started.userMessage.content,
        attachments,
        accepted: succeeds(stored),
        signal,
        emit: (event: TurnEvent) => {
          // The answer's first step holds its grant by now: the title's reservation cannot take it.
          title?.start();
          // After a cancel only the bill of the interrupted step still comes through.
          if (signal.aborted && event.type !== 'usage') return;
          if (event.type === 'text.delta') {
            firstTokenAt ??= clock.now();
            text += event.text;
            if (!saving && performance.now() - lastSave >= PARTIAL_SAVE_INTERVAL_MS) savePartial();
          } else if (event.type === 'usage') {
            usage.promptTokens += event.promptTokens;
            usage.completionTokens += event.completionTokens;
            usage.costUsd += event.costUsd;
          }
          publish(event);
        },
      });
      if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
      title?.start();
      await stored;
      await saving;
      // Written again if the store fails it, so the end told to subscribers is the one stored; the
      // run still beats meanwhile (it is live until its end is published), so nobody sweeps it.
      const message = await againOnStoreFailure(() =>
        runs.finishRun({ run: record, messageId, status: 'completed', text, usage, firstTokenAt }),
      );
      if (!message) throw new Error('a completed run stored no message');
      // A title still being written goes on after the run, and is stored without an event.
      title?.outliveRun();
      publish({ type: 'run.completed', message, usage });
      ended = true;
    } catch (error) {
      // A run that ends early ends its title too, and settles its bill before the run's end is told.
      await title?.stop();
      events.flush();
      // A run whose start was never stored has nothing to end: send answered with the error.
      if (!(await succeeds(stored))) return;
      await saving;
      const ending = { run: record, messageId, text, usage, firstTokenAt };
      outcome = await this.endEarly(ending, error, signal.aborted, ids).catch((storeError: unknown) => {
        logger.error({ ...ids, err: storeError }, 'could not record the end of a run');
        publish({
          type: 'run.failed',
          appCode: 'INTERNAL',
          message: 'The run failed.',
          retryable: true,
          partial: null,
        });
        return 'failed' as const;
      });
      ended = true;
    }
    // Sizes and times only: what was said stays out of the logs.
    logger.info(
      {
        ...ids,
        status: outcome,
        model,
        durationMs: Math.round(performance.now() - startedAt),
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        costUsd: usage.costUsd,
      },
      'run ended',
    );
    runEndTraced(outcome, usage);
  }

  /**
   * The title of an untitled conversation, written from the run's user message beside the answer.
   * `start` begins it (once the answer holds its first grant); once stored it is published as
   * `conversation.updated` if the run has not ended yet. `stop` cuts it short with a run that ends
   * early, and resolves once its step is settled; after `outliveRun` (the run completed) it goes
   * on unbound from the run's cancel. Its failure is never the run's: it is no title.
   */
  private titleBeside(
    userId: string,
    started: StartedRun,
    model: string,
    stored: Promise<void>,
    runSignal: AbortSignal,
    ids: { requestId: string | null; userId: string; runId: string },
    publish: (event: RunEvent) => void,
  ): { start(): void; outliveRun(): void; stop(): Promise<void> } {
    const { titles, conversations, logger } = this.options;
    const stop = new AbortController();
    const stopWithRun = () => stop.abort();
    runSignal.addEventListener('abort', stopWithRun, { once: true });
    let writing: Promise<void> | null = null;
    return {
      start: () => {
        // A run cancelled before its answer began gets no title: nothing to reserve for.
        if (writing || !titles || stop.signal.aborted) return;
        this.titling.add(started.runId);
        writing = titles
          .write({
            userId,
            runId: started.runId,
            model,
            text: started.userMessage.content,
            signal: stop.signal,
            accepted: succeeds(stored),
          })
          .then(async (title) => {
            if (!title || stop.signal.aborted || !(await succeeds(stored))) return;
            const conversation = await conversations.setGeneratedTitle(userId, started.conversationId, title);
            if (conversation) publish({ type: 'conversation.updated', conversation });
          })
          .catch((error: unknown) => logger.warn({ ...ids, err: error }, 'could not store a conversation title'))
          .finally(() => {
            runSignal.removeEventListener('abort', stopWithRun);
            this.titling.delete(started.runId);
          });
      },
      outliveRun: () => runSignal.removeEventListener('abort', stopWithRun),
      stop: async () => {
        stop.abort();
        await writing;
      },
    };
  }

  private async endEarly(
    ending: {
      run: { id: string; userId: string; conversationId: string; userMessageId: string };
      messageId: string;
      text: string;
      usage: Usage;
      firstTokenAt: Date | null;
    },
    error: unknown,
    cancelled: boolean,
    ids: { requestId: string | null; userId: string; runId: string },
  ): Promise<'failed' | 'cancelled'> {
    const { runs, hub, logger } = this.options;
    const { run } = ending;
    if (cancelled) {
      runEndedEarly('run.cancelled');
      const partial = await againOnStoreFailure(() => runs.finishRun({ ...ending, status: 'cancelled' }));
      hub.publish(run.id, { type: 'run.cancelled', partial });
      return 'cancelled';
    }
    const appError = isAppError(error) ? error : new AppError('INTERNAL', 'The agent failed while answering.');
    if (!isAppError(error)) logger.error({ ...ids, err: error }, 'run failed');
    runEndedEarly('run.failed', appError.appCode);
    const partial = await againOnStoreFailure(() =>
      runs.finishRun({ ...ending, status: 'failed', error: { code: appError.appCode, message: appError.message } }),
    );
    hub.publish(run.id, {
      type: 'run.failed',
      appCode: appError.appCode,
      message: appError.message,
      retryable: appError.data.retryable ?? appError.appCode === 'INTERNAL',
      partial,
    });
    return 'failed';
  }

  /**
   * A run this process is not running: live from the shared events where there are some, and
   * its end from the store when they stop short of it (its process died, or it ended long ago).
   */
  private async *followElsewhere(run: RunRecord, seen: number, signal: AbortSignal): AsyncGenerator<StreamedEvent> {
    const { sharedEvents, runs } = this.options;
    if (sharedEvents) {
      const hasEnded = async () => !isActive((await runs.run(run.userId, run.id)).status);
      for await (const item of sharedEvents.follow(run.id, seen, signal, hasEnded)) {
        yield item;
        if (isTerminal(item.event)) return;
      }
      if (signal.aborted) return;
      run = await runs.run(run.userId, run.id);
    }
    yield* this.storedOutcome(run, signal);
  }

  /**
   * The end of a run this process is not running: one that ended here long ago, or one live in
   * another process sharing the database, whose end is awaited by polling the store.
   */
  private async *storedOutcome(initial: RunRecord, signal: AbortSignal): AsyncGenerator<StreamedEvent> {
    let run = initial;
    while (isActive(run.status)) {
      await sleep(REMOTE_RUN_POLL_MS, undefined, { signal }).catch(() => {});
      if (signal.aborted) return;
      run = await this.options.runs.run(run.userId, run.id);
    }
    const message: Message | null = run.assistantMessageId
      ? await this.options.messages.message(run.assistantMessageId)
      : null;
    const id = FINAL_EVENT_ID;
    if (run.status === 'completed' && message) {
      yield { id, event: { type: 'run.completed', message, usage: message.usage ?? EMPTY_USAGE } };
    } else if (run.status === 'cancelled') {
      yield { id, event: { type: 'run.cancelled', partial: message } };
    } else {
      yield {
        id,
        event: {
          type: 'run.failed',
          appCode: run.errorCode ?? 'INTERNAL',
          message: run.errorMessage ?? 'The run did not finish.',
          retryable: true,
          partial: message,
        },
      };
    }
  }
}

const notFoundMessage = () => new AppError('NOT_FOUND', 'That message does not exist.');

/** A regenerate's or an edit's start, or the error its refusal is to the caller. */
function branchStarted(started: RunStart | { conflict: BranchConflict }): RunStart {
  if (!('conflict' in started)) return started;
  switch (started.conflict) {
    case 'run_active':
      throw runActiveError();
    case 'not_last_answer':
      throw new AppError('INVALID_INPUT', 'Only the last answer of the conversation can be regenerated.', {
        fieldErrors: {
          messageId: ['Pass the last answer of the branch shown (or the user message it answers).'],
        },
      });
    case 'not_user_message':
      throw new AppError('INVALID_INPUT', 'Only a message you wrote can be edited.', {
        fieldErrors: { messageId: ['Pass the id of one of your messages; regenerate an answer instead.'] },
      });
    default:
      throw notFoundMessage();
  }
}

/**
 * How far a subscriber has read: up to a numbered event, or everything (`final` is the id of the
 * last event a run can send). Anything else is refused rather than taken for "from the start".
 */
function eventsSeen(lastEventId: string | null | undefined): number | 'all' {
  if (lastEventId === null || lastEventId === undefined || lastEventId === '') return 0;
  if (lastEventId === FINAL_EVENT_ID) return 'all';
  if (/^\d{1,15}$/.test(lastEventId)) return Number(lastEventId);
  throw unknownEventIdError();
}

function unknownEventIdError(): AppError {
  return new AppError('INVALID_INPUT', 'That lastEventId was not sent by this run.', {
    fieldErrors: {
      lastEventId: [`Expected the id of an event this run's stream sent (a number, or "${FINAL_EVENT_ID}").`],
    },
  });
}

function streamCapError(cap: StreamCap): AppError {
  const message =
    cap === 'run'
      ? 'Too many streams are open on this run: close one before opening another.'
      : 'Too many event streams are open for this account: close one before opening another.';
  return new AppError('RATE_LIMITED', message, { retryAfterSeconds: STREAM_RETRY_AFTER_SECONDS });
}

/**
 * A repeated clientMessageId is the same send again only if it says the same: an idempotency key
 * reused for another message is a client bug, refused rather than answered with the first run.
 */
function sameSend(earlier: StartedRun, input: SendInput): StartedRun {
  const otherConversation = input.conversationId !== undefined && input.conversationId !== earlier.conversationId;
  if (otherConversation || earlier.userMessage.content !== input.text) {
    throw new AppError('INVALID_INPUT', 'That clientMessageId was already used for another message.', {
      fieldErrors: { clientMessageId: ['Use a new clientMessageId for each message.'] },
    });
  }
  return earlier;
}

const isActive = (status: RunStatus) => status === 'queued' || status === 'running';

async function* noEvents(): AsyncGenerator<StreamedEvent> {}

/**
 * Gives the slot back once the stream ends: after its last event, on an error, or when the client
 * leaves (the abort also covers a stream that is dropped before it was ever read).
 */
function holdingSlot(
  events: AsyncIterable<StreamedEvent>,
  release: () => void,
  signal: AbortSignal,
): AsyncGenerator<StreamedEvent> {
  signal.addEventListener('abort', release, { once: true });
  if (signal.aborted) release();
  return (async function* () {
    try {
      yield* events;
    } finally {
      signal.removeEventListener('abort', release);
      release();
    }
  })();
}

const succeeds = (promise: Promise<unknown>): Promise<boolean> =>
  promise.then(
    () => true,
    () => false,
  );
