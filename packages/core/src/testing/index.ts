/** Helpers for tests of Hearth and of code built on it; not used by the server itself. */
export { type TestDatabase, testDatabases } from './databases';
export { testRedisUrl } from './redis';
export { TestClock } from './test-clock';
