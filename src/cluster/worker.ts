/**
 * The worker of the cluster mode (`migrec worker`): takes migrec's jobs from the BullMQ queue and
 * runs them on a kernel pool of its own, so the event loop stays free to renew the jobs' locks
 * (heavy work on the main thread would get a job marked stalled and run twice).
 *
 * Jobs: a pool task of a distributed fit (`knn`, `alsRows`, `fused`, ... see codec.ts) read from
 * the shared work directory, its output rows written back there; `merge`, the parent of a stage,
 * which checks and orders its children's results; `score`, one part of a distributed batch
 * scoring (scoring.ts).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Recommender } from '../engine/facade.js';
import { ClusterError, OptionRangeError } from '../errors.js';
import { createPool, type KernelPool } from '../pool/index.js';
import { loadModel } from '../registry.js';
import { ArrayCache, readTask, writeResult } from './codec.js';
import { checkRedis, redisLabel, redisOptions } from './connection.js';
import { scorePart, type ScoreJob } from './scoring.js';

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  redis: string;
  /** Queue name (the submitters' `queue`). @default 'migrec' */
  queue?: string;
  /** Threads of this worker's kernel pool. @default 1 */
  threads?: number;
  /** Jobs run at the same time (each on one pool thread). @default threads */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal, in ms: a worker that died is noticed after this
   * long, and its job goes to another worker. Renewed every half of it from the event loop.
   * @default 30000
   */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died (stalled jobs), in ms. @default 30000 */
  stalledIntervalMs?: number;
  /** Times a job may stall (its worker die) before it fails. @default 2 */
  maxStalledCount?: number;
  /** Bytes of input arrays kept in memory between jobs of a run. @default 1 GiB */
  cacheBytes?: number;
  /** Receives one line per event (ready, job started / done / failed, closing). */
  log?: (line: string) => void;
}

/** A running worker. */
export interface ClusterWorker {
  /** Stop taking jobs, let the running ones finish (or, with `force`, hand them back), close the pool. */
  close(force?: boolean): Promise<void>;
}

/** Models loaded by score jobs, by path, size and modification time. */
class ModelCache {
  #key = '';
  #model: Promise<Recommender> | undefined;
  constructor(private readonly pool: KernelPool) {}

  async get(path: string): Promise<Recommender> {
    const st = await stat(path).catch(() => undefined);
    if (!st) throw new ClusterError(`model file ${path} not found: is it on storage shared with this worker?`);
    const key = `${path}\0${st.size}\0${st.mtimeMs}`;
    if (key !== this.#key || !this.#model) {
      const old = this.#model;
      this.#key = key;
      this.#model = loadModel(path, { pool: this.pool });
      this.#model.catch(() => (this.#key = ''));
      void old?.then((m) => m.close()).catch(() => undefined);
    }
    return this.#model;
  }
}

/**
 * Start a worker: connects to Redis (failing fast when it does not answer) and takes jobs until
 * closed. @throws {ClusterError} when Redis is unreachable. @throws {OptionRangeError} for bad options.
 */
export async function startWorker(o: WorkerOptions): Promise<ClusterWorker> {
  const int = (name: string, v: number | undefined, def: number, min: number) => {
    const x = v ?? def;
    if (!Number.isInteger(x) || x < min) throw new OptionRangeError(name, `options.${name} must be an integer >= ${min} (got ${x})`);
    return x;
  };
  const queue = o.queue ?? 'migrec';
  const threads = int('threads', o.threads, 1, 1);
  const concurrency = int('concurrency', o.concurrency, threads, 1);
  const lockDuration = int('lockDurationMs', o.lockDurationMs, 30_000, 100);
  const stalledInterval = int('stalledIntervalMs', o.stalledIntervalMs, 30_000, 100);
  const maxStalledCount = int('maxStalledCount', o.maxStalledCount, 2, 0);
  const cache = new ArrayCache(o.cacheBytes ?? 2 ** 30);
  const log = o.log ?? (() => {});
  await checkRedis(o.redis);
  // The pool's task timeout (10 min) fails a hung task: the job is retried, then fails the run.
  const pool = createPool({ threads });
  const models = new ModelCache(pool);

  const processor = async (job: Job): Promise<unknown> => {
    const t0 = performance.now();
    log(`job ${job.id} ${job.name} started (attempt ${job.attemptsMade + 1})`);
    let value: unknown;
    if (job.name === 'merge') value = await merge(job);
    else if (job.name === 'score') value = await scorePart(job.data as ScoreJob, models, String(job.id));
    else {
      const { dir, file, index, result } = job.data as { dir: string; file: string; index: number; result: string };
      const task = await readTask(dir, file, cache);
      if (task.kind !== job.name) throw new ClusterError(`${join(dir, file)} holds a ${task.kind} task, the job says ${job.name}`);
      const out = await pool.run(task.kind, task.task);
      await writeResult(dir, result, task, out);
      value = { index, result };
    }
    log(`job ${job.id} ${job.name} done in ${(performance.now() - t0).toFixed(0)} ms`);
    return value;
  };

  const conn = new Redis(redisOptions(o.redis));
  conn.on('error', () => {});
  // The connection's name tells submitters how many jobs this worker runs at once (their default shard count).
  const worker = new Worker(queue, processor, { connection: conn, concurrency, lockDuration, stalledInterval, maxStalledCount, name: `migrec-slots-${concurrency}` });
  let lastError = '';
  worker.on('error', (e) => {
    // A Redis that is away repeats the same error at every reconnection attempt: say it once.
    if (e.message !== lastError) log(`error: ${e.message}`);
    lastError = e.message;
  });
  conn.on('ready', () => (lastError = ''));
  worker.on('failed', (job, e) => log(`job ${job?.id} ${job?.name} failed: ${e.message}`));
  await worker.waitUntilReady();
  log(`ready: queue ${queue} on ${redisLabel(o.redis)}, ${threads} threads, concurrency ${concurrency}`);
  let graceful: Promise<void> | undefined;
  let forced: Promise<void> | undefined;
  const shut = async (force: boolean) => {
    log(force ? 'closing: handing running jobs back' : 'closing: finishing running jobs');
    // BullMQ's close waits on Redis: with Redis away (or when forced) cut the connection and give
    // up after two seconds; the jobs still held come back to the queue when their locks expire.
    if (force || conn.status !== 'ready') {
      conn.disconnect();
      await Promise.race([worker.close(true), new Promise((r) => setTimeout(r, 2000).unref())]);
    } else await worker.close();
    conn.disconnect();
    await pool.close();
  };
  return {
    close(force = false) {
      if (force) return (forced ??= shut(true));
      return (graceful ??= shut(false));
    },
  };
}

/** The parent of a stage: its children's results in task order, checked to be one per task. */
async function merge(job: Job): Promise<{ results: string[] }> {
  const { count, kind } = job.data as { count: number; kind: string };
  const values = Object.values(await job.getChildrenValues<{ index: number; result: string }>());
  const results: string[] = new Array(count);
  for (const v of values) {
    if (!v || !Number.isInteger(v.index) || v.index < 0 || v.index >= count || results[v.index] !== undefined) {
      throw new ClusterError(`merge of ${kind}: a child returned ${JSON.stringify(v)} (expected one result per task 0..${count - 1})`);
    }
    results[v.index] = v.result;
  }
  if (values.length !== count) throw new ClusterError(`merge of ${kind}: ${values.length} results for ${count} tasks`);
  return { results };
}
