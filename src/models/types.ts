/**
 * The index-level model contract: what the evaluation runner and the public API call. Models see
 * dense user/item indices and typed arrays only; string ids are mapped at the edge.
 */
import type { Dataset } from '../data/dataset.js';
import type { ItemCatalog } from '../data/catalog.js';
import type { EventTable } from '../data/events.js';

/** Names of the models of DESIGN.md, plus the `random` baseline. */
export const MODEL_NAMES = ['popularity', 'random', 'itemknn', 'userknn', 'bridge', 'mf', 'emcdr', 'ptupcdr', 'migrec'] as const;
/** One model name. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** Ranked lists for a batch of users: `k` slots per user, `count[i]` of them filled. */
export class RankedLists {
  constructor(
    /** Slots per user. */
    readonly k: number,
    /** Filled slots per user. */
    readonly count: Uint32Array,
    /** Item indices, user i at [i*k, i*k + count[i]), best first. */
    readonly items: Uint32Array,
    /** Scores, parallel to `items`. */
    readonly scores: Float32Array,
  ) {}

  /** Number of users. */
  get length(): number {
    return this.count.length;
  }

  /** User i's list (views, not copies). */
  get(i: number): { items: Uint32Array; scores: Float32Array } {
    const s = i * this.k;
    const e = s + this.count[i];
    return { items: this.items.subarray(s, e), scores: this.scores.subarray(s, e) };
  }

  /** Empty lists for `n` users. */
  static empty(n: number, k: number): RankedLists {
    return new RankedLists(k, new Uint32Array(n), new Uint32Array(n * k), new Float32Array(n * k));
  }
}

/** Options of `fit`. */
export interface FitOptions {
  /** Validation events (same vocabularies), for tuning and early stopping only. */
  valid?: EventTable;
  /** Seed of every random step. @default 0 */
  seed?: number;
  /** Item catalog (categories, prices) for candidate filters in `recommend`; saved with the model. */
  catalog?: ItemCatalog;
}

/** Options of `rank`. */
export interface RankOptions {
  /** Leave out items the user has in training in that domain. @default true */
  filterSeen?: boolean;
}

/** A model on indices. */
export interface IndexModel {
  /** The model's name, as in `migrec eval --models`. */
  readonly name: ModelName;
  /** Learn from training data. */
  fit(data: Dataset, options?: FitOptions): Promise<void>;
  /**
   * The top `k` training items of `domain` for each user index. User indices at or above the
   * training user count are users unknown to training (cold everywhere).
   * @throws {NotFittedError} before `fit`.
   */
  rank(users: Uint32Array, domain: number, k: number, options?: RankOptions): Promise<RankedLists>;
}
