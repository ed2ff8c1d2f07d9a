/**
 * The Redis connection, from a URL (`redis://user:password@host:6379/0`, `rediss://` for TLS) or
 * from ioredis options given as they are (passwords, `tls: { ca, cert, key }`, sentinels...).
 */
import type { RedisOptions } from 'bullmq';

export type RedisConnection = string | RedisOptions;

/**
 * While Redis is away, ioredis tries again after this many ms (attempt 1, 2, ...): soon at
 * first, then every 2 s, so that a client or worker is back within ~2 s of Redis. (BullMQ's own
 * default grows to 20 s between attempts.) Options that bring their own retryStrategy keep it.
 */
function retryStrategy(attempt: number): number {
  return Math.min(250 * attempt, 2000);
}

export function connectionOptions(connection: RedisConnection): RedisOptions {
  // BullMQ's blocking commands need ioredis to retry forever rather than fail a request.
  const common = { maxRetriesPerRequest: null };
  if (typeof connection !== 'string') return { retryStrategy, ...connection, ...common };
  const url = parseRedisUrl(connection);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    retryStrategy,
    ...common,
  };
}

function parseRedisUrl(connection: string): URL {
  let url: URL;
  try {
    url = new URL(connection);
  } catch {
    throw new TypeError(`connection must be a Redis URL such as redis://127.0.0.1:6379, got "${masked(connection)}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new TypeError(`connection must be a redis:// or rediss:// URL, got "${masked(connection)}"`);
  }
  return url;
}

/** A string that may be a URL with a password, for an error message: the password replaced. */
function masked(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

/**
 * Where a connection goes, to show in errors and logs: `redis://user:***@host:port/db`. The
 * password is never shown, whether it came in the URL or in the options.
 */
export function describeConnection(connection: RedisConnection): string {
  if (typeof connection === 'string') {
    const url = parseRedisUrl(connection);
    if (url.password) url.password = '***';
    return url.href.replace(/\/$/, '');
  }
  const { host, port, username, password, db, tls, path, sentinels, name } = connection;
  const credentials = username || password ? `${username ?? ''}${password ? ':***' : ''}@` : '';
  if (path) return `unix://${credentials}${path}${db ? `?db=${db}` : ''}`;
  if (sentinels?.length) {
    const nodes = sentinels
      .map((node: { host?: string; port?: number }) => `${node.host ?? '127.0.0.1'}:${node.port ?? 26379}`)
      .join(',');
    return `redis-sentinel://${credentials}${nodes}/${name ?? 'mymaster'}${db ? `/${db}` : ''}`;
  }
  return `${tls ? 'rediss' : 'redis'}://${credentials}${host ?? '127.0.0.1'}:${port ?? 6379}${db ? `/${db}` : ''}`;
}
