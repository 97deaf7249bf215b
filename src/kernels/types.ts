/** The compute kernels, as one interface with two implementations: wasm SIMD and a pure-TS reference. */

/**
 * A sparse matrix in compressed sparse row form, as the data layer produces it: row `r` holds the
 * columns `indices[indptr[r] .. indptr[r+1])`, strictly increasing, with values `data[...]`.
 */
export interface Csr {
  /** Number of rows (users, for an interaction matrix). */
  nRows: number;
  /** Number of columns (items, for an interaction matrix). */
  nCols: number;
  /** Row starts, `nRows + 1` entries, `indptr[0] = 0`, `indptr[nRows] = nnz`. */
  indptr: Uint32Array;
  /** Column ids, strictly increasing within a row, no duplicates. */
  indices: Uint32Array;
  /** Values, parallel to `indices`. */
  data: Float32Array;
}

/**
 * Sparse rows without an ordering promise: a {@link Csr}, or a {@link Neighbours} matrix whose
 * rows are sorted best first. What the scoring kernels read a similarity matrix as.
 */
export interface SparseRows {
  /** Number of rows. */
  nRows: number;
  /** Number of columns. */
  nCols: number;
  /** Row starts, `nRows + 1` entries. */
  indptr: Uint32Array;
  /** Column ids of each row (any order, no duplicates within a row). */
  indices: Uint32Array;
  /** Values, parallel to `indices`. */
  data: Float32Array;
}

/**
 * A top-k neighbour matrix (the output of the similarity kernels): row `i` lists at most `k`
 * neighbours of row item `i`, **sorted best first** (ties by the lower column index). Zero
 * similarities are never stored. Same fields as a {@link Csr}, so it can be scored or transposed.
 */
export interface Neighbours extends SparseRows {
  /** The `k` the matrix was built with (rows hold at most `k` entries). */
  k: number;
}

/** Result of a top-k selection: parallel arrays, best first, ties by lower index. */
export interface TopK {
  /** Selected indices into the scored vector. */
  indices: Uint32Array;
  /** Their scores, in the same order. */
  scores: Float32Array;
}

/**
 * Top-k lists for a batch of rows in fixed slots: row `r` has `counts[r]` entries at
 * `indices/scores[r*k .. r*k + counts[r])`, best first, ties by lower index. Unused slots are 0.
 */
export interface TopKRows {
  /** Slots per row. */
  k: number;
  /** Entries used in each row (`<= k`). */
  counts: Uint32Array;
  /** Column ids, `rows * k` slots. */
  indices: Uint32Array;
  /** Scores, `rows * k` slots. */
  scores: Float32Array;
}

/**
 * A cosine top-k job: rows of `left` against columns of `right` through their shared middle index.
 * Item-item on a users x items matrix X: `left = X^T`, `right = X`; user-user: `left = X`,
 * `right = X^T`; cross-domain (items of A vs items of B through shared users): `left = A^T`,
 * `right = B`. The similarity of row `i` and column `j` is
 * `dot / (normsLeft[i] * normsRight[j] + shrink)` in f32, with `dot = sum_u left[i,u] * right[u,j]`.
 */
export interface CosineJob {
  /** Rows to find neighbours for (`nRows` x middle). */
  left: SparseRows;
  /** Candidates as columns (middle x `nCols`); rows need not be sorted. */
  right: SparseRows;
  /** Norm of each row of `left` (`left.nRows` entries); see `rowNorms`. */
  normsLeft: Float32Array;
  /** Norm of each column of `right` (`right.nCols` entries). */
  normsRight: Float32Array;
  /**
   * When the columns of `right` (and `normsRight`) are relabelled: column c is original column
   * `rightColumnIds[c]`. Outputs and tie-breaks use the original ids. See `relabelColumns`.
   */
  rightColumnIds?: Uint32Array | undefined;
  /** Neighbours kept per row (positive integer). */
  k: number;
  /** Shrinkage added to the denominator (>= 0). */
  shrink: number;
}

/**
 * A sparse scoring job: user rows times a similarity matrix, `score_i = sum_j x_uj * S_ji`, then
 * the top-`n` items with a positive score per user, seen items excluded, an optional item filter.
 */
export interface SparseScoreJob {
  /** User rows (users x source items). */
  userRows: SparseRows;
  /** Similarity matrix (source items x target items), e.g. an item-kNN {@link Neighbours}. */
  sim: SparseRows;
  /** Items never recommended to a user: row `u` of this matrix (users x target items); none when undefined. */
  seen?: SparseRows | undefined;
  /** Per target item, 1 when it may be recommended, 0 when not; every item when undefined. */
  allowed?: Uint8Array | undefined;
  /** Items returned per user (positive integer). */
  n: number;
  /**
   * Each row's entries may come in any order (the same entries as the sorted rows); saves the
   * final sort where only the set matters, as in the fused model. @default false
   */
  unordered?: boolean;
}

/**
 * A dense scoring job: `score_i = <user vector, item vector i>` (f32x4 lanes, see the reference for
 * the exact summation order), then the top-`n` per user, seen items excluded, an optional filter.
 */
export interface DenseScoreJob {
  /** Item embeddings, row-major `nItems x dim`. */
  items: Float32Array;
  /** Embedding width. */
  dim: number;
  /** Items never recommended to a user: row `users[b]` of this matrix; none when undefined. */
  seen?: SparseRows | undefined;
  /** Per item, 1 when it may be recommended, 0 when not; every item when undefined. */
  allowed?: Uint8Array | undefined;
  /** Items returned per user (positive integer). */
  n: number;
  /**
   * Each row's entries may come in any order (the same entries as the sorted rows); saves the
   * final sort where only the set matters, as in the fused model. @default false
   */
  unordered?: boolean;
}

/** Which implementation runs the kernels. */
export type BackendName = 'wasm' | 'js';

/**
 * The kernel set every backend provides. Inputs are treated as immutable: the wasm backend keeps
 * its copy of the arrays of the last job (compared by identity) and reuses it on the next call.
 */
export interface Kernels {
  /** Which implementation this is. */
  readonly backend: BackendName;
  /**
   * The `k` highest scores of `scores`, best first; ties by the lower index; NaN and -Infinity are
   * never selected (mask filtered entries with -Infinity). Returns fewer than `k` when fewer
   * entries are selectable.
   */
  topk(scores: Float32Array, k: number): TopK;
  /**
   * Cosine top-k neighbours of rows `[start, end)` of `job.left` (see {@link CosineJob}). A row's
   * list holds the columns with a non-zero similarity (the item itself included), best first,
   * ties by the lower column index. Row `r` of the result is row `start + r` of `left`.
   */
  cosineTopK(job: CosineJob, start: number, end: number): TopKRows;
  /** Top-`job.n` items per user of `users` (rows of `job.userRows`); see {@link SparseScoreJob}. */
  scoreSparse(job: SparseScoreJob, users: Uint32Array): TopKRows;
  /**
   * Top-`job.n` items for each of `users.length` user vectors (`userVectors`, row-major
   * `users.length x job.dim`); `users[b]` names the row of `job.seen` for vector `b`.
   */
  scoreDense(job: DenseScoreJob, users: Uint32Array, userVectors: Float32Array): TopKRows;
}
