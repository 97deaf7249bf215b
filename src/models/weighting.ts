/**
 * Interaction weighting before item-item similarity, with the semantics of implicit's
 * `tfidf_weight` and `bm25_weight` applied to the items x users matrix (as its TFIDFRecommender
 * and BM25Recommender do): a user who interacted with many items counts less (IDF over users), and
 * BM25 also saturates large weights and normalises by the item's total weight.
 */
import type { Csr } from '../kernels/types.js';

/** How interaction weights are transformed before similarity. */
export type Weighting = 'none' | 'tfidf' | 'bm25';

/** BM25 parameters. */
export interface Bm25Params {
  /** Saturation of large weights. @default 1.2 */
  K1: number;
  /** Strength of the item-length normalisation, in [0, 1]. @default 0.75 */
  B: number;
}

/** Per user: log(nItems) - log1p(items of the user). */
function userIdf(x: Csr): Float64Array {
  const idf = new Float64Array(x.nRows);
  const logN = Math.log(x.nCols);
  for (let u = 0; u < x.nRows; u++) idf[u] = logN - Math.log1p(x.indptr[u + 1] - x.indptr[u]);
  return idf;
}

/** TF-IDF: w' = sqrt(w) * idf(user). Returns a new matrix with the same structure. */
export function tfidfWeight(x: Csr): Csr {
  const idf = userIdf(x);
  const data = new Float32Array(x.data.length);
  for (let u = 0; u < x.nRows; u++) for (let t = x.indptr[u]; t < x.indptr[u + 1]; t++) data[t] = Math.sqrt(x.data[t]) * idf[u];
  return { ...x, data };
}

/** BM25: w' = w (K1 + 1) / (K1 lengthNorm(item) + w) * idf(user). Returns a new matrix with the same structure. */
export function bm25Weight(x: Csr, { K1, B }: Bm25Params): Csr {
  const idf = userIdf(x);
  const itemSum = new Float64Array(x.nCols);
  for (let t = 0; t < x.indices.length; t++) itemSum[x.indices[t]] += x.data[t];
  let total = 0;
  for (let i = 0; i < x.nCols; i++) total += itemSum[i];
  const avg = x.nCols > 0 ? total / x.nCols : 1;
  const data = new Float32Array(x.data.length);
  for (let u = 0; u < x.nRows; u++) {
    for (let t = x.indptr[u]; t < x.indptr[u + 1]; t++) {
      const norm = 1 - B + (B * itemSum[x.indices[t]]) / avg;
      data[t] = ((x.data[t] * (K1 + 1)) / (K1 * norm + x.data[t])) * idf[u];
    }
  }
  return { ...x, data };
}
