/** Helpers for tests of Hearth and of code built on it; not used by the server itself. */
export { type TestDatabase, testDatabases } from './databases';
export { InMemoryAgentStore, InMemoryMemoryVersions } from './in-memory-agent-store';
export { InMemoryChatStore } from './in-memory-chat-store';
export { InMemoryLedger, type InMemoryLedgerOptions } from './in-memory-ledger';
export { InMemoryLettaAgentIds } from './in-memory-letta-agent-ids';
export { testRedisUrl } from './redis';
export { ScriptedLlm, type ScriptedReply, type ScriptedResponder } from './scripted-llm';
export { TestClock } from './test-clock';
