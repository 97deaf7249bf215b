/** The compute kernels, as one interface with two implementations: wasm SIMD and a pure-TS reference. */

/** Result of a top-k selection: parallel arrays, best first, ties by lower index. */
export interface TopK {
  /** Selected indices into the scored vector. */
  indices: Uint32Array;
  /** Their scores, in the same order. */
  scores: Float32Array;
}

/** Which implementation runs the kernels. */
export type BackendName = 'wasm' | 'js';

/** The kernel set every backend provides. */
export interface Kernels {
  /** Which implementation this is. */
  readonly backend: BackendName;
  /**
   * The `k` highest scores of `scores`, best first; ties by the lower index; NaN and -Infinity are
   * never selected (mask filtered entries with -Infinity). Returns fewer than `k` when fewer
   * entries are selectable.
   */
  topk(scores: Float32Array, k: number): TopK;
}
