/**
 * Model names, and the index-level contract the evaluation runner calls (`IndexModel`). Models see
 * dense user/item indices and typed arrays only; string ids are mapped at the edge.
 */
import type { Dataset } from '../data/dataset.js';
import type { FitOptions, RankedLists } from '../engine/types.js';
import type { RankOptions } from '../engine/facade.js';

/** Names of the models (as in `migrec eval --models` and model files), plus the `random` baseline. */
export const MODEL_NAMES = ['popularity', 'random', 'itemknn', 'userknn', 'bridge', 'mf', 'emcdr', 'ptupcdr', 'migrec'] as const;
/** One model name. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** A model on indices. */
export interface IndexModel {
  /** The model's name, as in `migrec eval --models`. */
  readonly name: string;
  /** Learn from training data. */
  fit(data: Dataset, options?: FitOptions): Promise<void>;
  /**
   * The top `k` training items of `domain` for each user index. User indices at or above the
   * training user count are users unknown to training (cold everywhere).
   * @throws {NotFittedError} before `fit`.
   */
  rank(users: Uint32Array, domain: number, k: number, options?: RankOptions): Promise<RankedLists>;
}
