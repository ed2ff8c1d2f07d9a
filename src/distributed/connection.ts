/**
 * The Redis connection, from a URL (`redis://user:password@host:6379/0`, `rediss://` for TLS) or
 * from ioredis options given as they are (passwords, `tls: { ca, cert, key }`, sentinels...).
 */
import type { RedisOptions } from 'bullmq';

export type RedisConnection = string | RedisOptions;

export function connectionOptions(connection: RedisConnection): RedisOptions {
  // BullMQ's blocking commands need ioredis to retry forever rather than fail a request.
  const common = { maxRetriesPerRequest: null };
  if (typeof connection !== 'string') return { ...connection, ...common };
  let url: URL;
  try {
    url = new URL(connection);
  } catch {
    throw new TypeError(`connection must be a Redis URL such as redis://127.0.0.1:6379, got "${connection}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new TypeError(`connection must be a redis:// or rediss:// URL, got "${connection}"`);
  }
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    ...common,
  };
}
