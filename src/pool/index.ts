/**
 * The kernel pool and the high-level compute functions the models call.
 *
 * `createPool` starts Piscina worker threads (one worker file, wasm instantiated once per worker);
 * the caller owns the pool and closes it. Every function below takes `pool | undefined`: with a
 * pool it shards the work (item ranges of equal work for the kNN fit, user batches for scoring)
 * across the workers through SharedArrayBuffers; without one it runs in this thread. Results are
 * identical either way, and for any number of threads: each output row depends only on its input
 * rows, and ties break by the lower index.
 */
import { availableParallelism } from 'node:os';
import { KernelError, MigrecError, OptionRangeError } from '../errors.js';
import { allOnes, balancedRanges, columnNorms, rowCosts, rowNorms, slotsToNeighbours, transposeCsr } from '../kernels/csr.js';
import { getKernels } from '../kernels/index.js';
import type { BackendName, CosineJob, Csr, Neighbours, SparseRows, TopKRows } from '../kernels/types.js';
import { kernelModule } from '../kernels/wasm.js';
import type { DenseTask, DrillTask, KnnTask, SharedRef, SharedRows, SharedSlots, SparseTask, TaskReport } from './protocol.js';
import { PiscinaDispatcher, type TaskDispatcher } from './dispatch.js';
import { checkThreads, slotCount } from './limits.js';
import { resolveWorkerFile } from './resolve.js';

export { checkThreads, MAX_TOP_K, maxThreads, THREADS_PER_CORE } from './limits.js';
export type { TaskDispatcher } from './dispatch.js';

type Typed = Uint32Array | Float32Array | Uint8Array;

/** Options of {@link createPool}. */
export interface PoolOptions {
  /** Worker threads, at most {@link maxThreads}() (4 per available core). @default the number of available cores */
  threads?: number;
  /**
   * Longest a task may take, in milliseconds, counted from its submission (at most two tasks per
   * thread are queued at a time); the worker running a late task is terminated and replaced, and
   * the task fails with a `KernelError`. 0 disables the limit. @default 600000
   */
  timeoutMs?: number;
}

let poolSerial = 0;

/**
 * A pool of kernel workers. Create it with {@link createPool}; close it with {@link KernelPool.close}.
 * Input arrays are copied into shared memory once and cached by identity: do not mutate an array
 * after passing it to a pooled function (pass a new one).
 */
export class KernelPool {
  /** Number of worker threads. */
  readonly threads: number;
  /** Task timeout in milliseconds (0: none). */
  readonly timeoutMs: number;
  readonly #dispatcher: TaskDispatcher;
  readonly #shared = new WeakMap<object, SharedRef<Typed>>();
  readonly #ones = new WeakMap<Float32Array, SharedRef<Float32Array>>();
  readonly #serial = ++poolSerial;
  #ids = 0;
  #closed = false;

  /** @internal Use {@link createPool} (or `createClusterPool` for a remote queue). */
  constructor(threads: number, timeoutMs: number, dispatcher: TaskDispatcher) {
    this.threads = threads;
    this.timeoutMs = timeoutMs;
    this.#dispatcher = dispatcher;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stop the workers. Tasks still running are rejected. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#dispatcher.close();
  }

  /** @internal The shared copy of `a` (made once per array object). */
  share<T extends Typed>(a: T): SharedRef<T> {
    const hit = this.#shared.get(a);
    if (hit) return hit as SharedRef<T>;
    let array: T;
    if (a.buffer instanceof SharedArrayBuffer) array = a;
    else {
      const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
      array = new Ctor(new SharedArrayBuffer(a.byteLength));
      array.set(a as never);
    }
    const ref = { id: `${this.#serial}.${++this.#ids}`, array };
    this.#shared.set(a, ref);
    return ref;
  }

  /**
   * @internal A new id for an array whose contents change between tasks (kept on its shared
   * buffer when it has one, else copied), so no worker serves an older resident copy.
   */
  shareChanged<T extends Typed>(a: T): SharedRef<T> {
    let array = a;
    if (!(a.buffer instanceof SharedArrayBuffer)) {
      array = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
      array.set(a as never);
    }
    return { id: `${this.#serial}.${++this.#ids}`, array };
  }

  /** @internal The shared form of a sparse matrix. */
  shareRows(m: SparseRows, binaryOk = true): SharedRows {
    const rows = { nRows: m.nRows, nCols: m.nCols, indptr: this.share(m.indptr), indices: this.share(m.indices) };
    // Binary values are not shipped: an empty array stands for all ones.
    let ones = this.#ones.get(m.data);
    if (binaryOk && !ones && !this.#shared.has(m.data) && allOnes(m.data)) {
      ones = { id: `${this.#serial}.${++this.#ids}`, array: new Float32Array(new SharedArrayBuffer(0)) };
      this.#ones.set(m.data, ones);
    }
    if (ones && binaryOk) return { ...rows, data: ones, ones: true };
    return { ...rows, data: this.share(m.data), ones: false };
  }

  /** @internal Run one named task, mapping every failure to a `KernelError`. */
  async run<R>(name: string, task: unknown): Promise<R> {
    if (this.#closed) throw new KernelError('the kernel pool is closed');
    const signal = this.timeoutMs > 0 ? AbortSignal.timeout(this.timeoutMs) : undefined;
    try {
      return (await this.#dispatcher.run(name, task, signal)) as R;
    } catch (e) {
      if (e instanceof MigrecError) throw e; // a remote dispatcher's own typed failure (local workers' errors arrive as plain Errors)
      if (signal?.aborted) throw new KernelError(`pool task "${name}" timed out after ${this.timeoutMs} ms`, { cause: e });
      if (this.#closed) throw new KernelError(`pool task "${name}" stopped: the pool was closed`, { cause: e });
      throw new KernelError(`pool task "${name}" failed in its worker: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
  }

  /** @internal Run tasks with at most two per thread in flight; the first failure stops the rest. */
  async runAll<R>(name: string, tasks: unknown[]): Promise<R[]> {
    if (this.#dispatcher.runAll) {
      if (this.#closed) throw new KernelError('the kernel pool is closed');
      return (await this.#dispatcher.runAll(name, tasks)) as R[];
    }
    const results: R[] = new Array(tasks.length);
    let next = 0;
    let failed: unknown;
    const lane = async () => {
      while (failed === undefined && next < tasks.length) {
        const t = next++;
        try {
          results[t] = await this.run<R>(name, tasks[t]);
        } catch (e) {
          failed ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(tasks.length, this.threads * 2) }, lane));
    if (failed !== undefined) throw failed;
    return results;
  }

  /** @internal Failure drills for tests (`throw`, `exit`, `hang`, `ok`); resolves to the worker's backend. */
  drill(mode: DrillTask['mode']): Promise<string> {
    return this.run<string>('drill', { mode });
  }
}

/**
 * Start a pool of kernel workers. The caller owns it and must `close()` it.
 * @throws {OptionRangeError} when `threads` is not a positive integer or more than {@link maxThreads}()
 * (4 x the available cores), or `timeoutMs` is negative.
 * @throws {KernelError} when the worker file cannot be found or built.
 * @example
 * const pool = createPool({ threads: 2 });
 * try { const nb = await itemKnn(pool, X, { k: 50 }); } finally { await pool.close(); }
 */
export function createPool(options: PoolOptions = {}): KernelPool {
  const threads = checkThreads(options.threads ?? availableParallelism());
  const timeoutMs = options.timeoutMs ?? 600_000;
  if (!(timeoutMs >= 0)) throw new OptionRangeError('timeoutMs', `options.timeoutMs must be a non-negative number (got ${timeoutMs})`);
  const filename = resolveWorkerFile();
  let module: WebAssembly.Module | undefined;
  try {
    module = kernelModule();
  } catch {
    module = undefined; // workers fall back to the reference (or fail if 'wasm' is requested)
  }
  return new KernelPool(threads, timeoutMs, new PiscinaDispatcher(threads, filename, module));
}

/** Options of the kNN functions. */
export interface KnnOptions {
  /** Neighbours kept per row: at most {@link MAX_TOP_K}; more than there are columns means every column. */
  k: number;
  /** Shrinkage added to the cosine denominator: `dot / (|a| |b| + shrink)`. @default 0 */
  shrink?: number;
  /** Kernel implementation; `auto` = wasm, falling back to the TypeScript reference. @default 'auto' */
  backend?: BackendName | 'auto';
}

function checkK(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new OptionRangeError(name, `options.${name} must be a positive integer (got ${v})`);
}

function knnOptions(o: KnnOptions, columns: number): { k: number; shrink: number; backend: BackendName | 'auto' } {
  const k = slotCount('k', o.k, columns);
  const shrink = o.shrink ?? 0;
  if (!(shrink >= 0 && shrink < Infinity)) throw new OptionRangeError('shrink', `options.shrink must be a finite number >= 0 (got ${shrink})`);
  return { k, shrink, backend: o.backend ?? 'auto' };
}

function sharedSlots(rows: number, k: number): SharedSlots {
  return {
    k,
    counts: new Uint32Array(new SharedArrayBuffer(rows * 4)),
    indices: new Uint32Array(new SharedArrayBuffer(rows * k * 4)),
    scores: new Float32Array(new SharedArrayBuffer(rows * k * 4)),
  };
}

/** Plain (non-shared) copies of shared slots. */
function unshare(s: SharedSlots): TopKRows {
  return { k: s.k, counts: s.counts.slice(), indices: s.indices.slice(), scores: s.scores.slice() };
}

/**
 * Cosine top-k neighbours of every row of `job.left` (see `CosineJob`): the general form behind
 * {@link itemKnn}, {@link userKnn} and {@link crossKnn}.
 */
export async function cosineKnn(
  pool: KernelPool | undefined,
  job: CosineJob,
  backend: BackendName | 'auto' = 'auto',
): Promise<Neighbours> {
  if (job.left.nCols !== job.right.nRows) throw new RangeError(`left has ${job.left.nCols} columns but right has ${job.right.nRows} rows`);
  if (job.normsLeft.length !== job.left.nRows || job.normsRight.length !== job.right.nCols) throw new RangeError('norms do not match the matrices');
  const { left, right } = job;
  const k = slotCount('k', job.k, right.nCols);
  if (k !== job.k) job = { ...job, k };
  const nRows = left.nRows;
  if (!pool) return slotsToNeighbours(getKernels(backend).cosineTopK(job, 0, nRows), right.nCols);
  const bounds = balancedRanges(rowCosts(left, right), pool.threads * 8, 16 + job.k);
  const out = sharedSlots(nRows, job.k);
  const l = pool.shareRows(left);
  const r = pool.shareRows(right);
  const nl = pool.share(job.normsLeft);
  const nr = pool.share(job.normsRight);
  const ids = job.rightColumnIds ? pool.share(job.rightColumnIds) : undefined;
  const tasks: KnnTask[] = [];
  for (let b = 0; b + 1 < bounds.length; b++) {
    if (bounds[b] === bounds[b + 1]) continue;
    tasks.push({
      backend,
      left: l,
      right: r,
      normsLeft: nl,
      normsRight: nr,
      rightColumnIds: ids,
      k: job.k,
      shrink: job.shrink,
      start: bounds[b],
      end: bounds[b + 1],
      out,
    });
  }
  await pool.runAll<TaskReport>('knn', tasks);
  return slotsToNeighbours(out, right.nCols);
}

/**
 * Item-item cosine top-k of a users x items matrix `x`: row i lists the k items most similar to
 * item i (itself included), best first. Pass `transpose` (items x users) when you have it.
 * @throws {RangeError} on bad options. @throws {KernelError} when a worker fails.
 */
export async function itemKnn(pool: KernelPool | undefined, x: Csr, options: KnnOptions & { transpose?: Csr }): Promise<Neighbours> {
  const o = knnOptions(options, x.nCols);
  const xt = options.transpose ?? transposeCsr(x, { shared: pool !== undefined });
  const norms = rowNorms(xt);
  return cosineKnn(pool, { left: xt, right: x, normsLeft: norms, normsRight: norms, k: o.k, shrink: o.shrink }, o.backend);
}

/**
 * User-user cosine top-k of a users x items matrix `x` (item-item on the transpose).
 * @throws {RangeError} on bad options. @throws {KernelError} when a worker fails.
 */
export async function userKnn(pool: KernelPool | undefined, x: Csr, options: KnnOptions & { transpose?: Csr }): Promise<Neighbours> {
  const o = knnOptions(options, x.nRows);
  const xt = options.transpose ?? transposeCsr(x);
  const norms = rowNorms(x);
  return cosineKnn(pool, { left: x, right: xt, normsLeft: norms, normsRight: norms, k: o.k, shrink: o.shrink }, o.backend);
}

/**
 * Cross-domain item similarity: row i lists the k items of domain B most similar to item i of
 * domain A through the users they share. `a` (users x itemsA) and `b` (users x itemsB) use the
 * same user index space.
 * @throws {RangeError} when the user counts differ or on bad options.
 */
export async function crossKnn(pool: KernelPool | undefined, a: Csr, b: Csr, options: KnnOptions): Promise<Neighbours> {
  const o = knnOptions(options, b.nCols);
  if (a.nRows !== b.nRows) throw new RangeError(`a and b must share the user index space (got ${a.nRows} and ${b.nRows} rows)`);
  const at = transposeCsr(a);
  return cosineKnn(pool, { left: at, right: b, normsLeft: rowNorms(at), normsRight: columnNorms(b), k: o.k, shrink: o.shrink }, o.backend);
}

/** Options shared by the scoring functions. */
export interface ScoreOptions {
  /** Items returned per user: at most {@link MAX_TOP_K}; more than there are items means every item. */
  n: number;
  /** Candidate whitelist (item ids); every item when undefined. */
  candidates?: ArrayLike<number>;
  /** Items never returned (applied after `candidates`). */
  exclude?: ArrayLike<number>;
  /** Kernel implementation. @default 'auto' */
  backend?: BackendName | 'auto';
  /** Users per pool task. @default 1024 (sparse), 256 (dense) */
  usersPerTask?: number;
}

function allowedMask(nItems: number, o: ScoreOptions): Uint8Array | undefined {
  if (!o.candidates && !o.exclude) return undefined;
  const mask = new Uint8Array(nItems);
  const check = (name: string, i: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= nItems) throw new OptionRangeError(name, `options.${name} holds ${i}, not an item index in [0, ${nItems})`);
  };
  if (o.candidates) {
    for (let t = 0; t < o.candidates.length; t++) {
      check('candidates', o.candidates[t]);
      mask[o.candidates[t]] = 1;
    }
  } else mask.fill(1);
  if (o.exclude) {
    for (let t = 0; t < o.exclude.length; t++) {
      check('exclude', o.exclude[t]);
      mask[o.exclude[t]] = 0;
    }
  }
  return mask;
}

function userList(users: Uint32Array | undefined, count: number, limit: number, what: string): Uint32Array {
  const list = users ?? Uint32Array.from({ length: count }, (_, i) => i);
  for (let b = 0; b < list.length; b++) {
    if (list[b] >= limit) throw new OptionRangeError('users', `options.users holds ${list[b]}, not a row of ${what} (${limit} rows)`);
  }
  return list;
}

function toShared<T extends Typed>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const s = new Ctor(new SharedArrayBuffer(a.byteLength));
  s.set(a as never);
  return s;
}

/**
 * Sparse scoring: for each user, `score_i = sum_j x_uj * sim_ji` over the user's row of `userRows`
 * (users x source items) and `sim` (source items x target items, e.g. an {@link itemKnn} result),
 * then the top-`n` items with a positive score, best first, ties by the lower index.
 * Seen items are excluded: by default the user's own row when source and target items are the
 * same set (`userRows.nCols === sim.nCols`); pass `seen` (users x target items) or `false`.
 * @returns slots for `users` (default: every row of `userRows`) in order.
 * @throws {RangeError} on bad options. @throws {KernelError} when a worker fails.
 */
export async function scoreSparse(
  pool: KernelPool | undefined,
  userRows: SparseRows,
  sim: SparseRows,
  options: ScoreOptions & { users?: Uint32Array; seen?: SparseRows | false },
): Promise<TopKRows> {
  const n = slotCount('n', options.n, sim.nCols);
  if (userRows.nCols !== sim.nRows) throw new RangeError(`userRows has ${userRows.nCols} columns but sim has ${sim.nRows} rows`);
  const seen = options.seen === false ? undefined : (options.seen ?? (userRows.nCols === sim.nCols ? userRows : undefined));
  if (seen && seen.nCols !== sim.nCols) throw new OptionRangeError('seen', `options.seen has ${seen.nCols} columns, sim has ${sim.nCols}`);
  const users = userList(options.users, userRows.nRows, Math.min(userRows.nRows, seen ? seen.nRows : Infinity), 'userRows/seen');
  const allowed = allowedMask(sim.nCols, options);
  const backend = options.backend ?? 'auto';
  const job = { userRows, sim, seen, allowed, n };
  if (!pool) return getKernels(backend).scoreSparse(job, users);
  const batch = options.usersPerTask ?? 1024;
  checkK('usersPerTask', batch);
  const out = sharedSlots(users.length, n);
  const su = toShared(users);
  const x = pool.shareRows(userRows);
  const s = pool.shareRows(sim, false);
  const z = seen ? pool.shareRows(seen) : undefined;
  const a = allowed ? { id: 'allowed', array: toShared(allowed) } : undefined;
  const tasks: SparseTask[] = [];
  for (let b = 0; b < users.length; b += batch) {
    tasks.push({ backend, userRows: x, sim: s, seen: z, allowed: a, n, users: su.subarray(b, b + batch), offset: b, out });
  }
  await pool.runAll<TaskReport>('sparse', tasks);
  return unshare(out);
}

/**
 * Dense scoring: `score_i = <userVectors[b], items[i]>` (f32x4 SIMD), then the top-`n` per user,
 * best first, ties by the lower index. `users[b]` names the row of `seen` holding vector b's seen
 * items (default: b).
 * @param userVectors row-major `nUsers x dim`.
 * @param items row-major `nItems x dim`.
 * @throws {RangeError} on bad options. @throws {KernelError} when a worker fails.
 */
export async function scoreDense(
  pool: KernelPool | undefined,
  userVectors: Float32Array,
  items: Float32Array,
  options: ScoreOptions & { dim: number; users?: Uint32Array; seen?: SparseRows },
): Promise<TopKRows> {
  const { dim, seen } = options;
  checkK('dim', dim);
  checkK('n', options.n);
  if (items.length % dim !== 0 || userVectors.length % dim !== 0) throw new RangeError(`vector lengths are not multiples of options.dim (${dim})`);
  const nItems = items.length / dim;
  const n = slotCount('n', options.n, nItems);
  const count = userVectors.length / dim;
  if (seen && seen.nCols !== nItems) throw new OptionRangeError('seen', `options.seen has ${seen.nCols} columns, there are ${nItems} items`);
  if (options.users && options.users.length !== count) throw new OptionRangeError('users', `options.users has ${options.users.length} entries for ${count} vectors`);
  const users = userList(options.users, count, seen ? seen.nRows : Infinity, 'seen');
  const allowed = allowedMask(nItems, options);
  const backend = options.backend ?? 'auto';
  const job = { items, dim, seen, allowed, n };
  if (!pool) return getKernels(backend).scoreDense(job, users, userVectors);
  const batch = options.usersPerTask ?? 256;
  checkK('usersPerTask', batch);
  const out = sharedSlots(count, n);
  const su = toShared(users);
  const sv = toShared(userVectors);
  const it = pool.share(items);
  const z = seen ? pool.shareRows(seen) : undefined;
  const a = allowed ? { id: 'allowed', array: toShared(allowed) } : undefined;
  const tasks: DenseTask[] = [];
  for (let b = 0; b < count; b += batch) {
    const e = Math.min(count, b + batch);
    tasks.push({ backend, items: it, dim, seen: z, allowed: a, n, users: su.subarray(b, e), vectors: sv.subarray(b * dim, e * dim), offset: b, out });
  }
  await pool.runAll<TaskReport>('dense', tasks);
  return unshare(out);
}
