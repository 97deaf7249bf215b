/**
 * The pool's fusion weight search task: one bagged coordinate-ascent search (fusion/search.ts) on
 * candidates packed in the main thread, so the searches of a fit's buckets run side by side.
 */
import { baggedSearch, type PackedCandidates } from '../fusion/search.js';

/** One bagged search: the packed candidates and the resamples drawn (in order) by the fit. */
export interface WeightSearchTask {
  packed: PackedCandidates;
  resamples?: Uint32Array[];
}

/** Run one search; the same result as `baggedSearch` in the main thread. */
export function weightSearch(task: WeightSearchTask): { weights: number[]; ndcg: number } {
  return baggedSearch(task.packed, task.resamples);
}
