/**
 * Messages between the pool and its worker. Large inputs travel as {@link SharedRef}s: views on
 * SharedArrayBuffers plus a stable id, so a worker keeps one copy per dataset (a shared view
 * arrives as a new object with every task, so identity cannot be the cache key). Results are
 * written by the worker straight into shared output slots.
 */
import type { BackendName } from '../kernels/types.js';

/** A typed array on a SharedArrayBuffer, and the id its contents are cached under. */
export interface SharedRef<T extends Uint32Array | Float32Array | Uint8Array> {
  id: string;
  array: T;
}

/** A sparse matrix whose arrays are shared. */
export interface SharedRows {
  nRows: number;
  nCols: number;
  indptr: SharedRef<Uint32Array>;
  indices: SharedRef<Uint32Array>;
  /** Values; empty when `ones` (binary data is not shipped). */
  data: SharedRef<Float32Array>;
  /** Every value is 1. */
  ones: boolean;
}

/** Shared top-k output slots for a whole job; a task writes the rows it was given. */
export interface SharedSlots {
  k: number;
  counts: Uint32Array;
  indices: Uint32Array;
  scores: Float32Array;
}

/** Backend a worker runs: `auto` = wasm when it instantiates, else the reference. */
export type WorkerBackend = BackendName | 'auto';

/** Cosine top-k for left rows [start, end). */
export interface KnnTask {
  backend: WorkerBackend;
  left: SharedRows;
  right: SharedRows;
  normsLeft: SharedRef<Float32Array>;
  normsRight: SharedRef<Float32Array>;
  rightColumnIds?: SharedRef<Uint32Array> | undefined;
  k: number;
  shrink: number;
  start: number;
  end: number;
  out: SharedSlots;
}

/** Sparse scoring of a user batch; results go to output rows [offset, offset + users.length). */
export interface SparseTask {
  backend: WorkerBackend;
  userRows: SharedRows;
  sim: SharedRows;
  seen?: SharedRows | undefined;
  allowed?: SharedRef<Uint8Array> | undefined;
  n: number;
  users: Uint32Array;
  offset: number;
  out: SharedSlots;
}

/** Dense scoring of a batch of user vectors; results go to rows [offset, offset + users.length). */
export interface DenseTask {
  backend: WorkerBackend;
  items: SharedRef<Float32Array>;
  dim: number;
  seen?: SharedRows | undefined;
  allowed?: SharedRef<Uint8Array> | undefined;
  n: number;
  users: Uint32Array;
  vectors: Float32Array;
  offset: number;
  out: SharedSlots;
}

/** Failure drills for tests: throw, exit the worker thread, trap in wasm, or hang. */
export interface DrillTask {
  mode: 'throw' | 'exit' | 'hang' | 'ok';
}

/** What each task reports back (the results themselves are in the shared slots). */
export interface TaskReport {
  /** Backend that ran. */
  backend: BackendName;
  /** Milliseconds spent in the kernel, copies included. */
  ms: number;
}
