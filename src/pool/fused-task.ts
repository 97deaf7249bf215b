/**
 * The pool's `fused` task: the fused model's candidate generation and fusion for a range of batch
 * users (see fusion/fused-core.ts), written into the job's shared output slots. Each component
 * position has its own kernel instance in the worker (the user bridge a second one for its
 * scoring, after its search), so every component's shared inputs (its similarity matrix or item
 * vectors) stay resident across the tasks of a job instead of displacing each other; the per-user
 * rows are gathered per range (fused-core.ts) and copied per call. The fusion scratch is allocated
 * once per worker and reused.
 */
import { workerData } from 'node:worker_threads';
import { FusionScratch, fuseRange, type CandidateSource, type FusedBatch, type Runners } from '../fusion/fused-core.js';
import { referenceKernels } from '../kernels/reference.js';
import type { CosineJob, DenseScoreJob, SparseRows, SparseScoreJob, TopKRows } from '../kernels/types.js';
import { WasmKernels, instantiateKernels } from '../kernels/wasm.js';
import type { SharedRef, SharedRows, SharedSlots, TaskReport, WorkerBackend } from './protocol.js';

/** One component's candidate source, as shared arrays. */
export type SharedSource =
  | { kind: 'sparse'; userRows: SharedRows; sim: SharedRows; k: number }
  | { kind: 'dense'; vectors: Float32Array; items: SharedRef<Float32Array>; dim: number; k: number }
  | { kind: 'popular'; order: SharedRef<Uint32Array>; pop: SharedRef<Float32Array>; k: number }
  | {
      kind: 'bridge-user';
      src: SharedRows;
      srcNorms: SharedRef<Float32Array>;
      xsT: SharedRows;
      userNorms: SharedRef<Float32Array>;
      search: number;
      keep: number;
      exponent: number;
      shrink: number;
      self: SharedRef<Uint32Array>;
      target: SharedRows;
      k: number;
    }
  | { kind: 'lists'; lists: SharedSlots };

/** The fusion of batch rows [start, end) (see `FusedBatch`); results go to the same rows of `out`. */
export interface FusedTask {
  backend: WorkerBackend;
  sources: Array<SharedSource | null>;
  rowOf: SharedRef<Uint32Array>;
  seen: SharedRows | null;
  allowed: SharedRef<Uint8Array> | null;
  buckets: SharedRef<Uint8Array>;
  weights: Float64Array;
  scales: Float64Array;
  boost: SharedRef<Float32Array> | null;
  n: number;
  nItems: number;
  start: number;
  end: number;
  out: SharedSlots;
}

const module = (workerData as { module?: WebAssembly.Module } | undefined)?.module;
/** Kernel instance per component position (undefined when wasm cannot run here). */
const instances: WasmKernels[] = [];
let wasmFailed: Error | undefined;
const scratch = new FusionScratch();
const ones = new Map<string, Float32Array>();

function instance(c: number): WasmKernels | undefined {
  if (wasmFailed) return undefined;
  try {
    return (instances[c] ??= new WasmKernels(module ? instantiateKernels(module) : undefined, { viewOutputs: true }));
  } catch (e) {
    wasmFailed = e as Error;
    return undefined;
  }
}

/** Drop this worker's fused-scoring kernel instances and their memory (made again when needed). */
export function releaseFused(): void {
  instances.length = 0;
}

/** The fused task. @throws when `backend` is 'wasm' and the kernels cannot be instantiated. */
export function fused(task: FusedTask): TaskReport {
  const t0 = performance.now();
  const wasm = task.backend !== 'js' && instance(0) !== undefined;
  if (!wasm && task.backend === 'wasm') throw wasmFailed ?? new Error('wasm kernels unavailable');
  const ids = new Map<unknown, string>();
  const ref = <T extends Uint32Array | Float32Array | Uint8Array>(r: SharedRef<T>): T => {
    ids.set(r.array, r.id);
    return r.array;
  };
  const rows = (m: SharedRows): SparseRows => {
    const indptr = ref(m.indptr);
    let data = ref(m.data);
    // Binary rows arrive without values: wasm reads that as all ones, the reference needs them.
    if (m.ones && !wasm) {
      const nnz = indptr[m.nRows];
      let cached = ones.get(m.data.id);
      if (!cached || cached.length !== nnz) ones.set(m.data.id, (cached = new Float32Array(nnz).fill(1)));
      data = cached;
    }
    return { nRows: m.nRows, nCols: m.nCols, indptr, indices: ref(m.indices), data };
  };
  const sources = task.sources.map((s): CandidateSource | undefined => {
    if (!s) return undefined;
    if (s.kind === 'sparse') return { kind: 'sparse', userRows: rows(s.userRows), sim: rows(s.sim), k: s.k };
    if (s.kind === 'dense') return { kind: 'dense', vectors: s.vectors, items: ref(s.items), dim: s.dim, k: s.k };
    if (s.kind === 'popular') return { kind: 'popular', order: ref(s.order), pop: ref(s.pop), k: s.k };
    if (s.kind === 'bridge-user') {
      const { src, srcNorms, xsT, userNorms, self, target, ...rest } = s;
      return { ...rest, src: rows(src), srcNorms: ref(srcNorms), xsT: rows(xsT), userNorms: ref(userNorms), self: ref(self), target: rows(target) };
    }
    return { kind: 'lists', lists: s.lists };
  });
  const fb: FusedBatch = {
    sources,
    rowOf: ref(task.rowOf),
    seen: task.seen ? rows(task.seen) : undefined,
    allowed: task.allowed ? ref(task.allowed) : undefined,
    buckets: ref(task.buckets),
    weights: task.weights,
    scales: task.scales,
    boost: task.boost ? ref(task.boost) : undefined,
    n: task.n,
  };
  const keyOf = (a: unknown) => ids.get(a) ?? a;
  const run: Runners = {
    sparse: (c: number, job: SparseScoreJob, users: Uint32Array): TopKRows => (wasm ? instance(c)!.scoreSparse(job, users, keyOf) : referenceKernels.scoreSparse(job, users)),
    dense: (c: number, job: DenseScoreJob, users: Uint32Array, vectors: Float32Array): TopKRows =>
      wasm ? instance(c)!.scoreDense(job, users, vectors, keyOf) : referenceKernels.scoreDense(job, users, vectors),
    cosine: (c: number, job: CosineJob, start: number, end: number): TopKRows =>
      wasm ? instance(c)!.cosineTopK(job, start, end, keyOf) : referenceKernels.cosineTopK(job, start, end),
  };
  fuseRange(fb, task.start, task.end, run, scratch, task.nItems, task.out);
  return { backend: wasm ? 'wasm' : 'js', ms: performance.now() - t0 };
}
