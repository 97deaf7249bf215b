/**
 * The pool's single worker. Instantiates the kernel module once (the compiled module arrives in
 * `workerData`), keeps the inputs of the current dataset resident in wasm memory (keyed by the
 * shared arrays' ids), and writes results into the job's shared output slots. Named tasks:
 * `knn`, `sparse`, `dense`, `alsRows`, `fused`, `weightSearch`, `drill`.
 */
import { workerData } from 'node:worker_threads';
import { referenceKernels } from '../kernels/reference.js';
import type { Kernels, SparseRows, TopKRows } from '../kernels/types.js';
import { WasmKernels, instantiateKernels, type KeyOf } from '../kernels/wasm.js';
import { alsRows as solveAlsRows, releaseAls, type AlsTask } from './als-task.js';
import { fused as fuseTask, releaseFused, type FusedTask } from './fused-task.js';
import type { DenseTask, DrillTask, KnnTask, SharedRef, SharedRows, SharedSlots, SparseTask, TaskReport, WorkerBackend } from './protocol.js';

export { weightSearch } from './search-task.js';

const module = (workerData as { module?: WebAssembly.Module } | undefined)?.module;
let wasm: WasmKernels | undefined;
let wasmError: Error | undefined;

function kernels(backend: WorkerBackend): Kernels {
  if (backend === 'js') return referenceKernels;
  if (!wasm && !wasmError) {
    try {
      wasm = new WasmKernels(module ? instantiateKernels(module) : undefined);
    } catch (e) {
      wasmError = e as Error;
    }
  }
  if (wasm) return wasm;
  if (backend === 'wasm') throw wasmError ?? new Error('wasm kernels unavailable');
  return referenceKernels;
}

/**
 * Wasm memory only grows, so a kernel instance keeps the size of the largest job it ran. ALS
 * half-steps and the kNN / scoring kernels run in different phases of a fit: when the phase
 * changes, the instances of the other phase are dropped (their memory goes with them) and made
 * again when needed. Serving never runs ALS, so its resident inputs are never dropped.
 */
function enterScoring(): void {
  releaseAls();
}

/** The ALS task (als-task.ts), after dropping the kNN and scoring instances. */
export function alsRows(task: AlsTask): TaskReport {
  wasm = undefined;
  releaseFused();
  return solveAlsRows(task);
}

/** The fused task (fused-task.ts). */
export function fused(task: FusedTask): TaskReport {
  enterScoring();
  return fuseTask(task);
}

const onesCache = new Map<string, Float32Array>();

/** Collects the ids of the shared arrays of one task, to find their resident copies. */
class Keys {
  private readonly map = new Map<unknown, string>();
  ref<T extends Uint32Array | Float32Array | Uint8Array>(r: SharedRef<T>): T {
    this.map.set(r.array, r.id);
    return r.array;
  }
  constructor(private readonly backend: 'wasm' | 'js') {}
  rows(m: SharedRows): SparseRows {
    const indptr = this.ref(m.indptr);
    // Binary data arrives without values: the wasm kernels read an empty value array as all ones;
    // the reference needs the ones spelled out (made once per dataset).
    let data = this.ref(m.data);
    if (m.ones && this.backend === 'js') {
      const nnz = indptr[m.nRows];
      let cached = onesCache.get(m.data.id);
      if (!cached || cached.length !== nnz) {
        cached = new Float32Array(nnz).fill(1);
        onesCache.clear();
        onesCache.set(m.data.id, cached);
      }
      data = cached;
    }
    return { nRows: m.nRows, nCols: m.nCols, indptr, indices: this.ref(m.indices), data };
  }
  readonly keyOf: KeyOf = (a) => this.map.get(a) ?? a;
}

function write(out: SharedSlots, offset: number, r: TopKRows): void {
  out.counts.set(r.counts, offset);
  out.indices.set(r.indices, offset * out.k);
  out.scores.set(r.scores, offset * out.k);
}

/** Cosine top-k for a range of left rows. */
export function knn(task: KnnTask): TaskReport {
  const t0 = performance.now();
  enterScoring();
  const kern = kernels(task.backend);
  const keys = new Keys(kern.backend);
  const left = keys.rows(task.left);
  const right = keys.rows(task.right);
  const job = {
    left,
    right,
    normsLeft: keys.ref(task.normsLeft),
    normsRight: keys.ref(task.normsRight),
    rightColumnIds: task.rightColumnIds ? keys.ref(task.rightColumnIds) : undefined,
    k: task.k,
    shrink: task.shrink,
  };
  const r = kern instanceof WasmKernels ? kern.cosineTopK(job, task.start, task.end, keys.keyOf) : kern.cosineTopK(job, task.start, task.end);
  write(task.out, task.start, r);
  return { backend: kern.backend, ms: performance.now() - t0 };
}

/** Sparse scoring of a user batch. */
export function sparse(task: SparseTask): TaskReport {
  const t0 = performance.now();
  enterScoring();
  const kern = kernels(task.backend);
  const keys = new Keys(kern.backend);
  const job = {
    userRows: keys.rows(task.userRows),
    sim: keys.rows(task.sim),
    seen: task.seen ? keys.rows(task.seen) : undefined,
    allowed: task.allowed ? task.allowed.array : undefined,
    n: task.n,
  };
  const r = kern instanceof WasmKernels ? kern.scoreSparse(job, task.users, keys.keyOf) : kern.scoreSparse(job, task.users);
  write(task.out, task.offset, r);
  return { backend: kern.backend, ms: performance.now() - t0 };
}

/** Dense scoring of a batch of user vectors. */
export function dense(task: DenseTask): TaskReport {
  const t0 = performance.now();
  enterScoring();
  const kern = kernels(task.backend);
  const keys = new Keys(kern.backend);
  const job = {
    items: keys.ref(task.items),
    dim: task.dim,
    seen: task.seen ? keys.rows(task.seen) : undefined,
    allowed: task.allowed ? task.allowed.array : undefined,
    n: task.n,
  };
  const r =
    kern instanceof WasmKernels
      ? kern.scoreDense(job, task.users, task.vectors, keys.keyOf)
      : kern.scoreDense(job, task.users, task.vectors);
  write(task.out, task.offset, r);
  return { backend: kern.backend, ms: performance.now() - t0 };
}

/** Failure drills, used by the tests to prove the pool survives a crashed or hung worker. */
export function drill(task: DrillTask): string {
  if (task.mode === 'throw') throw new Error('drill: thrown in the worker');
  if (task.mode === 'exit') process.exit(3);
  if (task.mode === 'hang') {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      /* busy: only a terminate can stop this */
    }
  }
  return kernels('auto').backend;
}
