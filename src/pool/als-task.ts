/**
 * The pool's ALS task: CG row solves of one half-step for a row range, written straight into the
 * shared row factors (ranges never overlap). The worker keeps the inputs of the current half-step
 * resident in an ALS kernel instance of its own, keyed by the shared arrays' ids.
 */
import { workerData } from 'node:worker_threads';
import { solveRowsReference, type AlsInputs } from '../kernels/als-reference.js';
import { AlsWasm } from '../kernels/als-wasm.js';
import type { SharedRef, TaskReport, WorkerBackend } from './protocol.js';

/** Rows [start, end) of one ALS half-step (see `alsHalfStep` in src/models/als.ts). */
export interface AlsTask {
  backend: WorkerBackend;
  d: number;
  alpha: number;
  cgSteps: number;
  /** Fixed factors, `nCols x d`. */
  y: SharedRef<Float32Array>;
  /** Their Gram matrix plus reg I, padded `dp x dp`. */
  gram: SharedRef<Float32Array>;
  indptr: SharedRef<Uint32Array>;
  indices: SharedRef<Uint32Array>;
  data: SharedRef<Float32Array>;
  prior?: { weight: number; has: SharedRef<Uint8Array>; values: SharedRef<Float32Array> };
  /** Row factors, `nRows x d`, on a SharedArrayBuffer: rows [start, end) are read and rewritten. */
  x: Float32Array;
  start: number;
  end: number;
}

let als: AlsWasm | undefined;
let alsError: Error | undefined;

/** This worker's ALS kernels (made on first use), or undefined for the TS twin. */
function kernels(backend: WorkerBackend): AlsWasm | undefined {
  if (backend === 'js') return undefined;
  if (!als && !alsError) {
    try {
      als = new AlsWasm((workerData as { module?: WebAssembly.Module } | undefined)?.module);
    } catch (e) {
      alsError = e as Error;
    }
  }
  if (!als && backend === 'wasm') throw alsError ?? new Error('wasm kernels unavailable');
  return als;
}

/** Drop this worker's ALS kernels and their memory (made again on the next ALS task). */
export function releaseAls(): void {
  als = undefined;
}

/** CG solves of rows [start, end) of one half-step. */
export function alsRows(task: AlsTask): TaskReport {
  const t0 = performance.now();
  const k = kernels(task.backend);
  const { y, gram, indptr, indices, data, prior } = task;
  const inp: AlsInputs = { d: task.d, y: y.array, gram: gram.array, indptr: indptr.array, indices: indices.array, data: data.array, alpha: task.alpha, cgSteps: task.cgSteps };
  if (prior) inp.prior = { weight: prior.weight, has: prior.has.array, values: prior.values.array };
  if (k) {
    const keys = { y: y.id, gram: gram.id, indptr: indptr.id, indices: indices.id, data: data.id, has: prior?.has.id, values: prior?.values.id };
    k.solve(inp, keys, task.x, task.start, task.end);
  } else solveRowsReference(inp, task.x, task.start, task.end);
  return { backend: k ? 'wasm' : 'js', ms: performance.now() - t0 };
}
