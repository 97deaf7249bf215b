/**
 * The public shapes of the recommender facade: request options, results, explanations and the
 * fit report. Index-level types (what scorers see) live in scorer.ts.
 */
import type { ItemCatalog } from '../data/catalog.js';
import type { EventTable } from '../data/events.js';
import type { BackendName } from '../kernels/types.js';
import type { KernelPool } from '../pool/index.js';
import type { FitCache } from './cache.js';

/** Options every model takes besides its own (see each model's options schema). */
export interface ModelOptions {
  /** Seed of every random step. @default 0 */
  seed?: number;
  /** Kernel pool used by `fit` and `recommendBatch`; the caller owns and closes it. @default undefined (this thread) */
  pool?: KernelPool;
  /** Without `pool`: start a pool of this many worker threads on first use, owned by the model and closed by `close()`; 0 runs in this thread. @default undefined (this thread) */
  threads?: number;
  /** Kernel implementation. @default 'auto' (wasm SIMD, falling back to the TypeScript reference) */
  backend?: BackendName | 'auto';
  /**
   * Largest model tables (similarity lists, factor matrices) `fit` may build, in bytes. Inputs that
   * would need more are refused before any work with a `ModelFitError` that says how much they
   * need. @default undefined (no limit)
   */
  memoryBudget?: number;
  /** Domain used when a call names none. @default the only domain, when the data has one */
  domain?: string;
}

/** Options of `fit`. */
export interface FitOptions {
  /** Validation events (same vocabularies), for tuning and early stopping only. */
  valid?: EventTable;
  /** Seed of every random step. @default the model's `seed` */
  seed?: number;
  /** Item catalog (categories, prices) for candidate filters in `recommend`; saved with the model. */
  catalog?: ItemCatalog;
  /**
   * Results shared between fits on the same data (ALS factors of a domain): models fitted with the
   * same cache and the same settings train them once. The caller owns it. @default a new cache per fit
   */
  cache?: FitCache;
  /**
   * Called as the fit advances: the model (a component's name inside the fused model), the stage
   * (`fit`, `similarity`, `bridge`, `als:<domain>`, `mapping`, `components`, `fusion`) and how much
   * of it is done. Stages of one model come in order; `done` grows to `total` within a stage.
   */
  onProgress?: (progress: FitProgress) => void;
}

/** One step of a fit, for `FitOptions.onProgress`. */
export interface FitProgress {
  model: string;
  stage: string;
  done: number;
  total: number;
}

/** Options of `recommend` and `recommendBatch`. */
export interface RecommendOptions {
  /** Number of items. @default 10 */
  k?: number;
  /** Domain to recommend from. @default the model's default domain */
  domain?: string;
  /** Leave out items the user has (in training or folded in) in that domain. @default true */
  filterSeen?: boolean;
  /** Item ids never to return. */
  exclude?: readonly string[];
  /** Only return these item ids. */
  candidates?: readonly string[];
  /** Only return items of these categories (needs a catalog: `fit(data, { catalog })`). */
  categories?: readonly string[];
  /** Only return items priced at least this much (needs a catalog). */
  minPrice?: number;
  /** Only return items priced at most this much (needs a catalog). */
  maxPrice?: number;
  /**
   * For a user the model does not know: `'popularity'` recommends the most popular items (scores:
   * popularity divided by the domain's top popularity, in (0, 1]; `fallback: true` on the result),
   * `'none'` throws. @default 'none'
   */
  fallback?: 'none' | 'popularity';
}

/** One user's recommendations: parallel arrays, best first. */
export interface Recommendation {
  /** Item ids. */
  items: string[];
  /** Their scores. */
  scores: Float32Array;
  /** True when the popularity fallback produced the list (the user is unknown to the model). */
  fallback: boolean;
}

/** Recommendations for a batch of users, in request order; iterable as `{ user, items, scores, fallback }`. */
export class RecommendationBatch implements Iterable<Recommendation & { user: string }> {
  /** Lists already turned into ids (built on first `get`, so a large batch costs no strings until read). */
  private readonly built: Array<Recommendation | undefined>;

  constructor(
    /** The users, in request order. */
    readonly users: readonly string[],
    private readonly build: (i: number) => Recommendation,
  ) {
    this.built = new Array(users.length);
  }

  /** Number of users. */
  get length(): number {
    return this.users.length;
  }

  /**
   * The list of user `i` (request order).
   * @throws {RangeError} outside the batch.
   */
  get(i: number): Recommendation {
    if (!Number.isInteger(i) || i < 0 || i >= this.users.length) throw new RangeError(`index ${i} is outside the batch (length ${this.users.length})`);
    return (this.built[i] ??= this.build(i));
  }

  *[Symbol.iterator](): Iterator<Recommendation & { user: string }> {
    for (let i = 0; i < this.users.length; i++) yield { user: this.users[i], ...this.get(i) };
  }
}

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

/** One term of an explanation: an item or a user that contributed `weight` to the score. */
export interface Contribution {
  kind: 'item' | 'user' | 'popularity' | 'model';
  /** Item or user id (empty for popularity). */
  id: string;
  /** Domain of an item. */
  domain?: string;
  /** Its share of the score; the shares add up to the score. */
  weight: number;
  /** The component model it came through (fused models only). */
  model?: string;
}

/** Why a model scores an item for a user. */
export interface Explanation {
  user: string;
  item: string;
  domain: string;
  score: number;
  /** Largest first. */
  contributions: Contribution[];
}

/** One event handed to `foldIn`. */
export interface FoldInEvent {
  item: string;
  /** @default the model's default domain */
  domain?: string;
  /** Explicit weight; otherwise the behaviour's weight, otherwise 1. */
  weight?: number;
  behavior?: string;
}

/** What the last fit did: seconds per stage, choices made on validation data, other figures. */
export interface FitReport {
  /** The model's name. */
  model: string;
  /** Seconds per stage (`total` always; the fused model: one entry per component and `fusion`). */
  seconds: Record<string, number>;
  /** Hyper-parameters chosen on validation data, and the validation figures behind them. */
  choices: Record<string, unknown>;
  /** Other figures of the fit (iterations run, validation curves). */
  stats: Record<string, unknown>;
  /** When the fit finished (ISO 8601); kept in the model file. Absent for files saved before migrec 0.2. */
  fittedAt?: string;
}
