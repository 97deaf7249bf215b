/**
 * The internal scorer interface every model implements over dense indices and typed arrays, and
 * the context a fit runs in. A model is a `ModelDefinition`: its options schema, what it can do,
 * and how to fit or restore a `Scorer`. A scorer is built complete by `fit` or `restore` and never
 * changes afterwards, so the facade can swap a new one in at once.
 */
import type { Dataset } from '../data/dataset.js';
import type { EventTable } from '../data/events.js';
import { ModelFitError } from '../errors.js';
import type { SectionArray } from '../io/modelfile.js';
import type { BackendName, TopKRows } from '../kernels/types.js';
import type { Schema } from '../options/index.js';
import type { KernelPool } from '../pool/index.js';
import type { FitCache } from './cache.js';
import type { ScoreFilter } from './exec.js';
import type { LiveChange } from './live.js';
import type { ModelData, UserBatch } from './rows.js';
import type { Contribution, FitReport } from './types.js';

/** What a model offers beyond ranking. */
export interface Capabilities {
  /** `similarItems` returns neighbours. */
  similarItems: boolean;
  /** `similarUsers` returns neighbours. */
  similarUsers: boolean;
  /** `explain` breaks a score into contributions. */
  explain: boolean;
}

/** Indices with scores, best first. */
export interface IndexList {
  indices: Uint32Array;
  scores: Float32Array;
}

/** A score broken into contributions that add up to it. */
export interface ScoreParts {
  score: number;
  contributions: Contribution[];
}

/** A scorer's own part of a model file. */
export interface SavedState {
  meta: Record<string, unknown>;
  sections: Record<string, SectionArray>;
}

/** What every scorer sees of its model: the training rows and the kernel backend. */
export interface ScorerEnv {
  data: ModelData;
  backend: BackendName | 'auto';
}

/** What a fit sees. */
export interface FitContext extends ScorerEnv {
  /** The training data set. */
  dataset: Dataset;
  /** Validation events (tuning and early stopping only). */
  valid: EventTable | undefined;
  /** Seed of every random step. */
  seed: number;
  /** Pool for fit-time kernels (undefined: this thread). */
  pool: KernelPool | undefined;
  /** Results shared with other fits on the same data. */
  cache: FitCache;
  /** Largest table the fit may build, in bytes. */
  memoryBudget: number | undefined;
  /** Name of the model, for messages. */
  label: string;
  /** Report progress of a stage of this fit (a no-op unless the caller asked for it). */
  progress(stage: string, done: number, total: number): void;
  /**
   * Index of a training domain by name (undefined: the model's default domain).
   * @throws {UnknownIdError} for a name that is not a training domain.
   */
  domainIndex(name: string | undefined): number;
}

/** A fitted model on indices. Built complete; never mutated afterwards. */
export interface Scorer {
  /** Top-`n` items of domain `d` for each batch user, in this thread. */
  score(batch: UserBatch, d: number, n: number, filter: ScoreFilter): TopKRows;
  /** The same on the pool. */
  scorePooled(batch: UserBatch, d: number, n: number, filter: ScoreFilter, pool: KernelPool): Promise<TopKRows>;
  /**
   * The contributions behind the (single) batch user's score for item `item` of domain `d`, as
   * scored in a list of `n` items.
   */
  explain?(batch: UserBatch, d: number, item: number, n: number): ScoreParts;
  /** Top-`k` items of domain `d` most similar to item `i` (may include `i`). */
  similarItems?(d: number, i: number, k: number): IndexList;
  /** Top-`k` users most similar to the (single) batch user by their rows in domain `d` (may include the user). */
  similarUsers?(batch: UserBatch, d: number, k: number): IndexList;
  /** State for the model file. */
  exportState(): SavedState;
  /** Seconds, choices and figures of the fit that built it (empty after a restore). */
  report(): Omit<FitReport, 'model'>;
}

/** A model type: its options schema, its capabilities, and how to fit or restore its scorer. */
export interface ModelDefinition<S extends Scorer = Scorer> {
  /** Name, as in `migrec eval --models` and in model files. */
  readonly name: string;
  /** Options schema (validation, CLI flags, docs). */
  readonly schema: Schema;
  /** What its scorers offer. */
  readonly capabilities: Capabilities;
  /** What its scorers offer with these options, when that depends on them (e.g. the fused model's components). */
  capabilitiesFor?(options: Readonly<Record<string, unknown>>): Capabilities;
  /** Fit a new scorer. `options` were resolved against `schema`. */
  fit(ctx: FitContext, options: Readonly<Record<string, unknown>>): Promise<S>;
  /**
   * Rebuild a scorer from a model file's state.
   * @throws {ModelFormatError} when the state is inconsistent.
   */
  restore(env: ScorerEnv, options: Readonly<Record<string, unknown>>, state: SavedState, label: string): S;
  /**
   * Checks of the resolved options beyond the schema (e.g. the fused model's components), run when
   * the model is created. @throws {OptionTypeError|OptionRangeError}
   */
  check?(options: Readonly<Record<string, unknown>>): void;
  /** The domain calls default to when the options name none (e.g. the fused model's `target`). */
  defaultDomain?(options: Readonly<Record<string, unknown>>): string | undefined;
  /**
   * A new scorer for `change.after` from one built on `change.before` (`update` and `forget`, see
   * engine/live.ts); the given scorer is left as it is. Without it the model cannot be updated.
   */
  live?(scorer: S, change: LiveChange, options: Readonly<Record<string, unknown>>): Promise<S>;
}

/**
 * Refuse a table of `bytes` bytes over the fit's memory budget, before building it.
 * @throws {ModelFitError} naming what needs the memory and how much.
 */
export function reserve(ctx: Pick<FitContext, 'memoryBudget' | 'label'>, bytes: number, what: string): void {
  if (ctx.memoryBudget === undefined || bytes <= ctx.memoryBudget) return;
  throw new ModelFitError(`${ctx.label}: ${what} needs ${formatBytes(bytes)}, over the memory budget of ${formatBytes(ctx.memoryBudget)} (options.memoryBudget)`);
}

/** Bytes in a readable unit (binary prefixes). */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let x = n;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${x.toFixed(1)} ${units[u]}`;
}

/** A scorer that only runs in this thread: its pooled form scores in this thread too. */
export abstract class InThreadScorer implements Scorer {
  abstract score(batch: UserBatch, d: number, n: number, filter: ScoreFilter): TopKRows;
  abstract exportState(): SavedState;

  async scorePooled(batch: UserBatch, d: number, n: number, filter: ScoreFilter): Promise<TopKRows> {
    return this.score(batch, d, n, filter);
  }

  report(): Omit<FitReport, 'model'> {
    return { seconds: {}, choices: {}, stats: {} };
  }
}
