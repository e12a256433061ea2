/** Helpers for tests of Hearth and of code built on it; not used by the server itself. */
export { type TestDatabase, testDatabases } from './databases';
export { InMemoryChatStore } from './in-memory-chat-store';
export { testRedisUrl } from './redis';
export { TestClock } from './test-clock';
