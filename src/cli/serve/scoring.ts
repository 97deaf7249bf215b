/**
 * Where `migrec serve` scores recommendations: in scoring worker threads, each with its own copy
 * of the model file (`--threads N`), or in the server thread (`--threads 0`). Either way a job is
 * one `recommendBatch` over the users of several requests that share their options, and its
 * answer is each user's JSON text, made where the scoring ran.
 *
 * The workers load the file the server loaded (checked by its id) and get every fold-in the
 * server applies to its own copy, in order, so they answer what the server's copy would. A worker
 * that dies fails its job (500 KERNEL) and leaves the others; with none left, scoring moves to the
 * server thread.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KernelError, ModelFormatError, StorageError, type FoldInEvent, type Recommender } from '../../index.js';
import { HttpError } from './http.js';
import { answerText } from './shared.js';

/** The options of a job (those of `recommendBatch` that requests may set). */
export interface JobOptions {
  k: number;
  domain: string | undefined;
  fallback: 'none' | 'popularity';
}

/** A failure as it crosses threads. */
export interface Failure {
  status: number;
  code: string;
  message: string;
}

/** `workerData` of a scoring worker. */
export interface WorkerSetup {
  path: string;
  /** The id (hash) of the file as the server loaded it. */
  id: string;
}

/** Messages to a worker. */
export type ToWorker = { t: 'score'; job: number; users: string[]; options: JobOptions } | { t: 'fold'; user: string; events: FoldInEvent[] };

/** Messages from a worker. */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'failed'; error: Failure }
  | { t: 'done'; job: number; texts: string[] }
  | { t: 'error'; job: number; error: Failure }
  | { t: 'fold-failed'; error: Failure };

/** Where the answers of one model slot are computed. */
export interface Scoring {
  /** Scoring threads (0: the server thread). */
  readonly threads: number;
  /** Jobs that can start now. */
  readonly free: number;
  /** Score `users` (a free lane must exist): each user's JSON answer, in order. */
  run(users: string[], options: JobOptions): Promise<string[]>;
  /** Apply behaviour the server already folded into its own copy. */
  foldIn(user: string, events: FoldInEvent[]): void;
  /** Stop the threads (the server's model is closed by its owner). */
  close(): Promise<void>;
}

/** Scoring in the server thread, on the server's model: one job at a time. */
export class ThreadScoring implements Scoring {
  readonly threads = 0;
  private busy = false;

  constructor(private readonly model: Recommender) {}

  get free(): number {
    return this.busy ? 0 : 1;
  }

  async run(users: string[], options: JobOptions): Promise<string[]> {
    this.busy = true;
    try {
      const lists = await this.model.recommendBatch(users, options);
      return users.map((u, i) => answerText(u, lists.get(i)));
    } finally {
      this.busy = false;
    }
  }

  foldIn(): void {
    // The server's model already has it.
  }

  async close(): Promise<void> {}
}

/** A failure sent by a worker, as the error the service answers with. */
function fromFailure(f: Failure): HttpError {
  return new HttpError(f.status, f.code, f.message);
}

interface Lane {
  worker: Worker;
  /** The job running on it. */
  job: { resolve(texts: string[]): void; reject(e: unknown): void } | undefined;
}

/** Scoring worker threads, each with its own copy of the model. */
export class WorkerScoring implements Scoring {
  private lanes: Lane[];
  private jobs = 0;
  private closing = false;
  private fallback: ThreadScoring | undefined;

  private constructor(
    lanes: Lane[],
    private readonly model: Recommender,
    private readonly log: (event: Record<string, unknown>) => void,
  ) {
    this.lanes = lanes;
    for (const lane of lanes) this.watch(lane);
  }

  /**
   * Start `threads` workers on the file at `path` (id `id`, already loaded as `model` here).
   * @throws {StorageError|ModelFormatError} when a worker cannot load it (e.g. the file changed).
   */
  static async start(path: string, id: string, threads: number, model: Recommender, log: (event: Record<string, unknown>) => void): Promise<WorkerScoring> {
    const workers = Array.from({ length: threads }, () => spawnWorker({ path, id }));
    const cleanups: Array<() => void> = [];
    const ready = workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: FromWorker) => {
            if (m.t === 'ready') resolve();
            else if (m.t === 'failed') reject(m.error.code === 'MODEL_FORMAT' ? new ModelFormatError(m.error.message) : new StorageError(m.error.message));
          };
          const onError = (e: Error) => reject(new KernelError(`a scoring worker failed to start: ${e.message}`, { cause: e }));
          const onExit = (code: number) => reject(new KernelError(`a scoring worker exited with code ${code} while starting`));
          worker.on('message', onMessage).on('error', onError).on('exit', onExit);
          cleanups.push(() => worker.off('message', onMessage).off('error', onError).off('exit', onExit));
        }),
    );
    const settled = await Promise.allSettled(ready);
    for (const cleanup of cleanups) cleanup();
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw failed.reason;
    }
    return new WorkerScoring(
      workers.map((worker) => ({ worker, job: undefined })),
      model,
      log,
    );
  }

  get threads(): number {
    return this.lanes.length;
  }

  get free(): number {
    if (this.fallback) return this.fallback.free;
    let n = 0;
    for (const lane of this.lanes) if (lane.job === undefined) n++;
    return n;
  }

  run(users: string[], options: JobOptions): Promise<string[]> {
    if (this.fallback) return this.fallback.run(users, options);
    const lane = this.lanes.find((l) => l.job === undefined);
    if (!lane) return Promise.reject(new KernelError('no scoring worker is free'));
    return new Promise((resolve, reject) => {
      lane.job = { resolve, reject };
      lane.worker.postMessage({ t: 'score', job: ++this.jobs, users, options } satisfies ToWorker);
    });
  }

  foldIn(user: string, events: FoldInEvent[]): void {
    for (const lane of this.lanes) lane.worker.postMessage({ t: 'fold', user, events } satisfies ToWorker);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }

  private watch(lane: Lane): void {
    const finish = (): Lane['job'] => {
      const job = lane.job;
      lane.job = undefined;
      return job;
    };
    lane.worker.on('message', (m: FromWorker) => {
      if (m.t === 'done') finish()?.resolve(m.texts);
      else if (m.t === 'error') finish()?.reject(fromFailure(m.error));
      else if (m.t === 'fold-failed') this.log({ event: 'error', where: 'scoring worker fold-in', ...m.error });
    });
    lane.worker.on('error', (e) => this.lost(lane, e.message));
    lane.worker.on('exit', (code) => this.lost(lane, `exit code ${code}`));
  }

  /** A worker died: fail its job, drop it; with none left, score in the server thread. */
  private lost(lane: Lane, why: string): void {
    if (this.closing || !this.lanes.includes(lane)) return;
    this.lanes = this.lanes.filter((l) => l !== lane);
    lane.job?.reject(new KernelError(`a scoring worker stopped (${why})`));
    lane.job = undefined;
    this.log({ event: 'error', where: 'scoring worker', message: `stopped (${why})`, left: this.lanes.length });
    if (this.lanes.length === 0) this.fallback = new ThreadScoring(this.model);
  }
}

/**
 * A worker thread running worker.ts. From the built package it is the `worker.js` beside this
 * file; from TypeScript sources (vitest, tsx) the worker registers tsx (a dev dependency) first.
 */
function spawnWorker(setup: WorkerSetup): Worker {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new Worker(new URL('./worker.js', here), { workerData: setup });
  const tsx = pathToFileURL(join(dirname(createRequire(here).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: setup });
}
