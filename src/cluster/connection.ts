/**
 * Redis connections of the cluster mode: the URL parsed into ioredis options, and a quick check
 * that Redis answers (so an unreachable Redis is a clear error within seconds, not a hang: the
 * queue's own connections retry for ever by design, which is what a running worker wants).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ClusterError, OptionRangeError } from '../errors.js';

/** The connection options of `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS). @throws {OptionRangeError} */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new OptionRangeError('redis', `options.redis must be a URL such as redis://127.0.0.1:6379 (got ${JSON.stringify(url)})`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new OptionRangeError('redis', `options.redis must be a redis:// or rediss:// URL (got ${JSON.stringify(url)})`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new OptionRangeError('redis', `options.redis: the path of the URL is a database number (got ${JSON.stringify(url)})`);
  const o: RedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    // BullMQ's blocking commands need unlimited retries per request.
    maxRetriesPerRequest: null,
  };
  if (u.username) o.username = decodeURIComponent(u.username);
  if (u.password) o.password = decodeURIComponent(u.password);
  if (db !== '') o.db = Number(db);
  if (u.protocol === 'rediss:') o.tls = {};
  return o;
}

/** `host:port` of a URL, for messages (no password). */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return url;
  }
}

/** What {@link checkRedis} found. */
export interface RedisCheck {
  /** Redis version (from INFO). */
  version: string;
  /** Warnings for settings that lose jobs (an eviction policy other than noeviction). */
  warnings: string[];
}

/**
 * Connect once, with a short timeout and no retries, and ask Redis for its version and eviction
 * policy. @throws {ClusterError} naming the URL when Redis does not answer within `timeoutMs`.
 */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<RedisCheck> {
  const client = new Redis({ ...redisOptions(url), lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let lastError: Error | undefined;
  client.on('error', (e: Error) => (lastError = e));
  const label = redisLabel(url);
  try {
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs).unref());
    await Promise.race([client.connect(), timer]);
    const info = await Promise.race([client.info('server'), timer]);
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
    const warnings: string[] = [];
    try {
      const policy = (await client.config('GET', 'maxmemory-policy')) as string[];
      if (policy[1] !== undefined && policy[1] !== 'noeviction') warnings.push(`Redis at ${label} has maxmemory-policy ${policy[1]}: set noeviction, or Redis may evict queued jobs under memory pressure`);
    } catch {
      // CONFIG may be disabled (managed Redis): nothing to check then.
    }
    return { version, warnings };
  } catch (e) {
    const why = (lastError ?? (e as Error)).message;
    throw new ClusterError(`cannot reach Redis at ${label}: ${why}`, { cause: e });
  } finally {
    client.disconnect();
  }
}
