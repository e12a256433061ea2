import { Redis, type RedisOptions } from 'ioredis';

/** The connections one process keeps to Redis: each has a job the others' settings would spoil. */
export interface RedisConnections {
  /** Run events (XADD, XRANGE, PUBLISH); queues commands while Redis is away and sends them on reconnect. */
  commands: Redis;
  /** Subscriber mode only; resubscribes its channels on reconnect. */
  subscriber: Redis;
  /** Rate limits: fails at once while Redis is away, so the limiter falls back instead of waiting. */
  limits: Redis;
  close(): Promise<void>;
}

/**
 * Opens the connections and waits until Redis answers, so that a wrong REDIS_URL stops start-up
 * with a clear error instead of a server that silently streams nothing across instances.
 */
export async function connectRedis(
  url: string,
  options: { connectTimeoutMs?: number } = {},
): Promise<RedisConnections> {
  const base: RedisOptions = {
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    // Reconnect forever, backing off to 2 s: Redis restarting is a pause, not the end of the process.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    lazyConnect: true,
  };
  const commands = new Redis(url, { ...base, connectionName: 'hearth-commands' });
  const subscriber = new Redis(url, { ...base, connectionName: 'hearth-subscriber' });
  const limits = new Redis(url, { ...base, connectionName: 'hearth-limits', enableOfflineQueue: false });
  const all = [commands, subscriber, limits];
  // Without a listener ioredis prints every failed reconnect; the process logs Redis's state itself.
  for (const connection of all) connection.on('error', () => {});
  const close = async () => {
    await Promise.all(all.map((connection) => connection.quit().catch(() => connection.disconnect())));
  };
  try {
    await Promise.all(all.map((connection) => connection.connect()));
  } catch (error) {
    for (const connection of all) connection.disconnect();
    throw error;
  }
  return { commands, subscriber, limits, close };
}
