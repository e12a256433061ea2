/**
 * The Redis the many-instance tests share, from TEST_REDIS_URL (CI points it at the machine's
 * Redis). Unset: those tests are skipped, as PostgreSQL's are without TEST_DATABASE_URL.
 */
export function testRedisUrl(): string | undefined {
  return process.env.TEST_REDIS_URL || undefined;
}
