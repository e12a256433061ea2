import type { Message, RunStatus, Usage } from '../domain/chat';

export interface RunRecord {
  id: string;
  userId: string;
  conversationId: string;
  userMessageId: string;
  assistantMessageId: string | null;
  status: RunStatus;
  model: string;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface StartedRun {
  runId: string;
  conversationId: string;
  userMessage: Message;
}

export interface RunStart extends StartedRun {
  /** Settles once the message and its run are stored: at once, or soon when the write went behind. */
  stored: Promise<void>;
}

/** What a send asks to store: the user's message and a run to answer it. */
export interface NewRun {
  userId: string;
  conversationId: string;
  text: string;
  model: string;
  clientMessageId?: string | undefined;
}

/** A run that answers again from a point of a conversation: the last answer again, or an edited message. */
export interface BranchRunInput {
  userId: string;
  messageId: string;
  model: string;
}

/** Why a regenerate, an edit or a branch switch was refused; nothing was stored. */
export type BranchConflict = 'not_found' | 'not_last_answer' | 'not_user_message' | 'run_active';

/** The run a conversation identifies by itself, with the user message it answers. */
export interface RunRef {
  id: string;
  userId: string;
  conversationId: string;
  /** The user message the run answers: its answer follows it. */
  userMessageId: string;
}

export interface FinishedRun {
  run: RunRef;
  /** The assistant message's id, the one its partial text was saved under (see savePartial). */
  messageId?: string;
  status: Exclude<RunStatus, 'queued' | 'running'>;
  text: string;
  usage: Usage;
  firstTokenAt: Date | null;
  error?: { code: string; message: string };
}

/**
 * Runs, with the messages that start and end them: a run and its user message are stored together,
 * and at most one run is active per conversation (the repository decides, so racing sends cannot
 * both start). Reads are scoped to the user.
 */
export interface RunRepository {
  runByClientMessageId(userId: string, clientMessageId: string): Promise<StartedRun | null>;
  /** The user's message and its run; refused (nothing stored) when the conversation cannot take it. */
  startRun(input: NewRun): Promise<RunStart | { conflict: 'run_active' | 'duplicate' | 'no_conversation' }>;
  /** The last answer of the shown branch again: `messageId` is that answer or the user message it answers. */
  startRegenerate(input: BranchRunInput): Promise<RunStart | { conflict: BranchConflict }>;
  /** A new version of the user message `messageId` (same parent), and a run answering it. */
  startEdit(input: BranchRunInput & { text: string }): Promise<RunStart | { conflict: BranchConflict }>;
  /** NOT_FOUND when it is not the user's. */
  run(userId: string, runId: string): Promise<RunRecord>;
  /** Ends the run: its answer (complete, or incomplete when it has text), and its outcome. */
  finishRun(input: FinishedRun): Promise<Message | null>;
  /** The text a live run has streamed so far, kept as its incomplete answer until finishRun. */
  savePartial(run: RunRef, messageId: string, text: string): Promise<void>;
  activeRunIds(userId: string): Promise<string[]>;
  /** Tells other processes that these runs are still being worked on here. */
  heartbeat(runIds: readonly string[]): Promise<void>;
  /** Ended runs still holding a reservation whose process stopped beating them (see failOrphanedRuns). */
  endedRunsHoldingReservations(staleForMs: number, ownInstance?: string): Promise<string[]>;
  /**
   * Marks failed the active runs no process will finish, keeping their saved partial text: all of
   * them (no `staleForMs`), or those not beaten for that long and those of `ownInstance`.
   */
  failOrphanedRuns(staleForMs?: number, ownInstance?: string): Promise<string[]>;
}
