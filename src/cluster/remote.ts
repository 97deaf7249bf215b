/**
 * A kernel pool whose tasks run on `migrec worker` processes, through a BullMQ queue on Redis.
 *
 * The fit's orchestration stays here, unchanged: each stage's `runAll` becomes one flow (BullMQ
 * FlowProducer): a parent `merge` job whose children are the stage's tasks, written to shared
 * storage by codec.ts (Redis carries only small JSON: the task kind and file names). A worker runs
 * each child on its own pool and writes the task's output rows to a result file; the parent, run
 * when every child is done, checks and orders the children's results; this process copies the
 * rows into its arrays. The same task functions on the same inputs give the same output, so the
 * model is the one a single-process fit makes.
 *
 * Failures: a child that fails every attempt fails its parent (failParentOnFailure) and the run,
 * with the child's own error; a job whose worker died is taken back by another worker once its lock
 * expires (BullMQ stalled-job recovery, `lockDuration` / `stalledInterval` of the workers); jobs
 * that vanished (Redis restarted without persistence) or a Redis unreachable for longer than
 * `redisTimeoutMs` stop the run with a {@link ClusterError}: nothing is saved from a half run.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { ClusterError, OptionRangeError } from '../errors.js';
import type { TaskDispatcher } from '../pool/dispatch.js';
import { KernelPool } from '../pool/index.js';
import { applyResult, RunFiles } from './codec.js';
import { checkRedis, redisLabel, redisOptions } from './connection.js';

/** Progress of a distributed stage: jobs done of the stage's jobs. */
export interface ClusterProgress {
  /** Task kind of the stage (`knn`, `alsRows`, `fused`, `dense`, `sparse`, `weightSearch`), or `score` for batch scoring. */
  stage: string;
  done: number;
  total: number;
}

/** Options of {@link createClusterPool}. */
export interface ClusterOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379` (`rediss://` for TLS, `/N` for database N). */
  redis: string;
  /** A directory every worker can read and write at the same path (NFS, a shared volume; a local path on one machine). */
  workDir: string;
  /** Queue name; workers must use the same. @default 'migrec' */
  queue?: string;
  /**
   * Shards to cut each stage into (the pool's `threads`: kNN stages make 8 jobs per shard, ALS
   * half-steps and fused scoring 4). @default half the job slots (`concurrency`) of the workers
   * connected when the pool is made, at least 1 (2 when none is connected yet)
   */
  shards?: number;
  /** Attempts of a job before it fails the run. @default 3 */
  attempts?: number;
  /** Delay before a failed job is tried again, doubled at each attempt. @default 500 */
  backoffMs?: number;
  /** How often the run checks that its jobs still exist in Redis. @default 1000 */
  pollMs?: number;
  /** How long Redis may be unreachable before the run fails. @default 30000 */
  redisTimeoutMs?: number;
  /** Called as the jobs of each stage finish. */
  onProgress?: (p: ClusterProgress) => void;
}

interface Flow {
  kind: string;
  /** The flow is in Redis (before that, the watchdog must not read its absence as a loss). */
  added: boolean;
  tasks: readonly unknown[];
  children: Map<string, number>;
  done: number;
  resolve: (names: string[]) => void;
  reject: (e: Error) => void;
}

/** @internal Settings resolved from {@link ClusterOptions}. */
export interface ClusterSettings {
  redis: string;
  workDir: string;
  queue: string;
  /** Undefined: from the workers connected (see {@link workerSlots}). */
  shards: number | undefined;
  attempts: number;
  backoffMs: number;
  pollMs: number;
  redisTimeoutMs: number;
}

/** @internal Check and default the options. @throws {OptionRangeError} */
export function clusterSettings(o: ClusterOptions): ClusterSettings {
  const int = (name: string, v: number | undefined, def: number, min: number) => {
    const x = v ?? def;
    if (!Number.isInteger(x) || x < min) throw new OptionRangeError(name, `options.${name} must be an integer >= ${min} (got ${x})`);
    return x;
  };
  if (typeof o.workDir !== 'string' || o.workDir === '') throw new OptionRangeError('workDir', 'options.workDir must name a directory shared with the workers');
  const queue = o.queue ?? 'migrec';
  if (!/^[A-Za-z0-9_-]+$/.test(queue)) throw new OptionRangeError('queue', `options.queue must be letters, digits, _ or - (got ${JSON.stringify(queue)})`);
  redisOptions(o.redis);
  return {
    redis: o.redis,
    workDir: resolve(o.workDir),
    queue,
    shards: o.shards === undefined ? undefined : int('shards', o.shards, 1, 1),
    attempts: int('attempts', o.attempts, 3, 1),
    backoffMs: int('backoffMs', o.backoffMs, 500, 0),
    pollMs: int('pollMs', o.pollMs, 1000, 10),
    redisTimeoutMs: int('redisTimeoutMs', o.redisTimeoutMs, 30_000, 100),
  };
}

/** @internal The queue, flow producer and events of one submitting process, with Redis-loss detection. */
export class QueueLink {
  readonly queue: Queue;
  readonly flows: FlowProducer;
  readonly events: QueueEvents;
  readonly label: string;
  readonly #conn: Redis;
  readonly #eventsConn: Redis;
  #downSince = 0;
  #lost: ClusterError | undefined;
  readonly #onLost: Array<(e: ClusterError) => void> = [];
  readonly #onReconnect: Array<() => void> = [];

  constructor(readonly s: ClusterSettings) {
    this.label = `${redisLabel(s.redis)} (queue ${s.queue})`;
    this.#conn = new Redis(redisOptions(s.redis));
    this.#conn.on('error', () => {});
    this.#conn.on('close', () => {
      if (this.#downSince === 0) this.#downSince = Date.now();
    });
    this.#conn.on('ready', () => {
      if (this.#downSince === 0) return;
      this.#downSince = 0;
      for (const f of this.#onReconnect) f();
    });
    this.queue = new Queue(s.queue, { connection: this.#conn });
    this.flows = new FlowProducer({ connection: this.#conn });
    this.#eventsConn = new Redis(redisOptions(s.redis));
    this.#eventsConn.on('error', () => {});
    this.events = new QueueEvents(s.queue, { connection: this.#eventsConn });
    for (const e of [this.queue, this.flows, this.events]) (e as unknown as NodeJS.EventEmitter).on('error', () => {});
  }

  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  /** Register what to do when Redis is down too long, and when it is back. */
  watch(onLost: (e: ClusterError) => void, onReconnect: () => void): void {
    this.#onLost.push(onLost);
    this.#onReconnect.push(onReconnect);
  }

  /** Fail everything when Redis has been unreachable for longer than allowed. */
  checkDown(): void {
    if (this.#lost || this.#downSince === 0 || Date.now() - this.#downSince < this.s.redisTimeoutMs) return;
    this.#lost = new ClusterError(`lost the connection to Redis at ${this.label} for more than ${this.s.redisTimeoutMs} ms: the run stops (nothing was saved)`);
    for (const f of this.#onLost) f(this.#lost);
  }

  async close(): Promise<void> {
    // Nothing of the submitter's needs a graceful goodbye: cut the connections first (the events one
    // sits in a blocking read; a Redis that is down would hold BullMQ's close for ever), then let
    // the BullMQ objects finish, for at most a second.
    this.#eventsConn.disconnect();
    this.#conn.disconnect();
    await Promise.race([Promise.allSettled([this.flows.close(), this.queue.close(), this.events.close()]), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}

/** Runs pool tasks as BullMQ flows. */
class RemoteDispatcher implements TaskDispatcher {
  readonly #s: ClusterSettings;
  readonly #link: QueueLink;
  readonly #files: RunFiles;
  readonly #runId: string;
  readonly #flows = new Map<string, Flow>();
  readonly #childOf = new Map<string, string>();
  readonly #timer: NodeJS.Timeout;
  readonly #onProgress: ClusterOptions['onProgress'];
  #seq = 0;
  #checking = false;
  /** Removals of abandoned stages' jobs, awaited (briefly) on close. */
  readonly #removals: Array<Promise<unknown>> = [];

  constructor(s: ClusterSettings, link: QueueLink, runId: string, onProgress: ClusterOptions['onProgress']) {
    this.#s = s;
    this.#link = link;
    this.#runId = runId;
    this.#files = new RunFiles(join(s.workDir, runId));
    this.#onProgress = onProgress;
    link.events.on('completed', ({ jobId, returnvalue }) => this.#completed(jobId, returnvalue));
    link.events.on('failed', ({ jobId, failedReason }) => void this.#failed(jobId, failedReason));
    link.watch(
      (e) => this.#failAll(e),
      () => void this.#check(),
    );
    this.#timer = setInterval(() => {
      link.checkDown();
      void this.#check();
    }, s.pollMs);
    this.#timer.unref();
  }

  get runDir(): string {
    return this.#files.dir;
  }

  async run(name: string, task: unknown): Promise<unknown> {
    return (await this.runAll(name, [task]))[0];
  }

  async runAll(name: string, tasks: unknown[]): Promise<unknown[]> {
    if (tasks.length === 0) return [];
    const stage = `${this.#runId}.${++this.#seq}`;
    const { stage: written, files } = await this.#files.writeStage(name, tasks, String(this.#seq));
    const parentId = `${stage}.m`;
    const flowDone = new Promise<string[]>((resolveFlow, rejectFlow) => {
      const flow: Flow = { kind: name, added: false, tasks, children: new Map(), done: 0, resolve: resolveFlow, reject: rejectFlow };
      files.forEach((_, i) => {
        flow.children.set(`${stage}.${i}`, i);
        this.#childOf.set(`${stage}.${i}`, parentId);
      });
      this.#flows.set(parentId, flow);
      const opts = { attempts: this.#s.attempts, backoff: { type: 'exponential', delay: this.#s.backoffMs }, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } };
      this.#link.flows
          .add({
            name: 'merge',
            queueName: this.#s.queue,
            data: { dir: this.#files.dir, kind: name, count: files.length },
            opts: { jobId: parentId, ...opts, removeOnComplete: { age: 3600 } },
            children: files.map((file, i) => ({
              name,
              queueName: this.#s.queue,
              data: { dir: this.#files.dir, file, index: i, result: `${stage}.${i}` },
              opts: { jobId: `${stage}.${i}`, failParentOnFailure: true, ...opts },
            })),
          })
          .then(() => (flow.added = true))
          .catch((e: Error) => this.#settle(parentId, new ClusterError(`cannot add jobs to Redis at ${this.#link.label}: ${e.message}`, { cause: e })));
      this.#onProgress?.({ stage: name, done: 0, total: files.length });
    });
    try {
      const names = await flowDone;
      return await Promise.all(names.map((n, i) => applyResult(this.#files.dir, n, name, tasks[i])));
    } finally {
      await this.#files.endStage(written);
    }
  }

  #completed(jobId: string, value: unknown): void {
    const parent = this.#childOf.get(jobId);
    if (parent !== undefined) {
      const flow = this.#flows.get(parent);
      if (flow) this.#onProgress?.({ stage: flow.kind, done: ++flow.done, total: flow.children.size });
      return;
    }
    const flow = this.#flows.get(jobId);
    if (!flow) return;
    const v = (typeof value === 'string' ? JSON.parse(value) : value) as { results?: string[] } | null;
    if (!v || !Array.isArray(v.results) || v.results.length !== flow.children.size) {
      this.#settle(jobId, new ClusterError(`job ${jobId} on ${this.#link.label} returned ${JSON.stringify(v)}, not the results of its ${flow.children.size} jobs`));
      return;
    }
    this.#settle(jobId, v.results);
  }

  async #failed(jobId: string, reason: string): Promise<void> {
    const parent = this.#childOf.get(jobId) ?? jobId;
    const flow = this.#flows.get(parent);
    if (!flow) return;
    // 'failed' is final here, but check: a job with attempts left goes back to wait or delayed.
    if ((await this.#link.queue.getJobState(jobId).catch(() => 'failed')) !== 'failed') return;
    let id = jobId;
    let why = reason;
    const child = /^child [^:]+:[^:]+:(\S+) failed/.exec(reason)?.[1];
    if (id === parent && child) {
      // The parent failed because of a child: report the child's own error.
      id = child;
      why = (await this.#link.queue.getJob(child).catch(() => undefined))?.failedReason ?? reason;
    }
    const i = flow.children.get(id);
    const what = i === undefined ? `job ${id}` : `job ${id} (${flow.kind} task ${i + 1} of ${flow.children.size})`;
    this.#settle(parent, new ClusterError(`${what} failed after ${this.#s.attempts} attempts on ${this.#link.label}: ${why}`));
  }

  /** The watchdog: a flow whose parent is gone (Redis lost it) fails the run; a missed event is caught up. */
  async #check(): Promise<void> {
    if (this.#checking || this.#flows.size === 0) return;
    this.#checking = true;
    try {
      for (const [id, flow] of [...this.#flows]) {
        if (!flow.added) continue;
        const state = await this.#link.queue.getJobState(id);
        if (!this.#flows.has(id)) continue;
        if (state === 'unknown') {
          this.#settle(id, new ClusterError(`Redis at ${this.#link.label} lost job ${id} of this run (restarted without persistence, or the job was removed): the run stops (nothing was saved)`));
        } else if (state === 'completed') {
          const job = await this.#link.queue.getJob(id);
          if (job) this.#completed(id, job.returnvalue);
        } else if (state === 'failed') {
          const job = await this.#link.queue.getJob(id);
          await this.#failed(id, job?.failedReason ?? 'failed');
        }
      }
    } catch {
      // Redis is down: checkDown decides when that fails the run.
    } finally {
      this.#checking = false;
    }
  }

  #settle(parentId: string, r: string[] | Error): void {
    const flow = this.#flows.get(parentId);
    if (!flow) return;
    this.#flows.delete(parentId);
    for (const c of flow.children.keys()) this.#childOf.delete(c);
    if (r instanceof Error) {
      // The stage is abandoned: take its jobs still waiting off the queue (running ones finish and are dropped).
      if (flow.added) this.#removals.push(this.#link.queue.remove(parentId, { removeChildren: true }).catch(() => 0));
      flow.reject(r);
    } else flow.resolve(r);
  }

  #failAll(e: ClusterError): void {
    for (const id of [...this.#flows.keys()]) this.#settle(id, e);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#failAll(new ClusterError('the cluster pool was closed'));
    await Promise.race([Promise.allSettled(this.#removals), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.#link.close();
    await rm(this.#files.dir, { recursive: true, force: true });
  }
}

/**
 * A kernel pool whose tasks run on `migrec worker` processes: pass it as `options.pool` of a model
 * (or to `loadModel`) and the fit's heavy stages (similarity, ALS half-steps, fusion scoring and
 * weight searches) are sharded into BullMQ jobs. The caller owns it and must `close()` it, which
 * also removes this run's files from the work directory.
 * @throws {ClusterError} when Redis does not answer within 3 s. @throws {OptionRangeError} for bad options.
 * @example
 * const pool = await createClusterPool({ redis: 'redis://127.0.0.1:6379', workDir: '/mnt/shared/migrec' });
 * try { const m = createModel('itemknn', { pool }); await m.fit(data); await m.save('m.migrec'); } finally { await pool.close(); }
 */
export async function createClusterPool(options: ClusterOptions): Promise<KernelPool> {
  const s = clusterSettings(options);
  await checkRedis(s.redis);
  const runId = `run-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
  const dir = join(s.workDir, runId);
  try {
    for (const sub of ['arrays', 'tasks', 'results']) await mkdir(join(dir, sub), { recursive: true });
  } catch (e) {
    throw new ClusterError(`cannot write the work directory ${s.workDir}: ${(e as Error).message}`);
  }
  const link = new QueueLink(s);
  await link.ready();
  // Each job costs a few ms of files and round trips: about two jobs per worker slot per stage.
  const shards = s.shards ?? Math.min(64, Math.max(1, Math.ceil((await workerSlots(link.queue)) / 2)));
  return new KernelPool(shards, 0, new RemoteDispatcher(s, link, runId, options.onProgress));
}

/** Job slots of the workers connected to `queue` (from their connection names), 4 when none is known. */
async function workerSlots(queue: Queue): Promise<number> {
  try {
    let slots = 0;
    for (const w of await queue.getWorkers()) slots += Number(/migrec-slots-(\d+)/.exec(w.rawname ?? w.name ?? '')?.[1] ?? 0);
    return slots > 0 ? slots : 4;
  } catch {
    return 4; // CLIENT LIST refused (some managed Redis): a middle value
  }
}
