/**
 * The recommender facade: one public class over any scorer. It owns what every
 * model shares: options checked against the model's schema, string ids <-> indices at the edge,
 * request filters, behaviour folded in after fitting, the popularity fallback, where kernels run
 * (`recommend` in this thread, synchronously; `recommendBatch` and `rank` on the pool when there
 * is one) and the model file. A fit or a load builds the whole new state aside and swaps it in at
 * once: a call running meanwhile sees the old model or the new one, never a mix; fits of one
 * model run one after the other.
 */
import { Dataset } from '../data/dataset.js';
import type { EventTable } from '../data/events.js';
import { ModelFormatError, NotFittedError, NotSupportedError, OptionTypeError, isOptionError } from '../errors.js';
import type { ModelFileContent } from '../io/modelfile.js';
import type { Csr, TopKRows } from '../kernels/types.js';
import { resolveOptions } from '../options/index.js';
import { checkThreads, createPool, KernelPool } from '../pool/index.js';
import { FitCache } from './cache.js';
import { findUsers, summarize, userEvents, type ModelSummary, type UserDomainEvents } from './inspect.js';
import { checkFoldIn } from './foldin.js';
import { liveState, mergeEvents, removeUser, type LiveReport } from './live.js';
import type { ScoreFilter } from './exec.js';
import { checkCatalog, readEnvelope, writeEnvelope } from './envelope.js';
import { checkK, copyRecommendation, domainIndex, itemIndex, knowsUser, PopularityFallback, resolveRequest, toRecommendation, userIndex, type RequestState } from './requests.js';
import { snapshotBatch, type ModelData, type Overlay, type UserBatch } from './rows.js';
import type { Capabilities, ModelDefinition, Scorer } from './scorer.js';
import { RankedLists, RecommendationBatch, type Explanation, type FitOptions, type FitReport, type FoldInEvent, type Recommendation, type RecommendOptions } from './types.js';

/** Options that say how a model runs, not what it learns: they reach the fit through its context, never the file. */
const RUNTIME_OPTIONS = ['pool', 'threads', 'backend', 'memoryBudget', 'domain'] as const;

/** Options that are input data of the fit rather than settings: handed to the fit, never saved. */
const FIT_INPUTS = ['itemFeatures'] as const;

/** Everything a fitted (or loaded) model holds; replaced whole, never patched. */
interface ModelState<S extends Scorer> extends RequestState {
  scorer: S;
  /** The model options it was fitted with (runtime options left out). */
  options: Readonly<Record<string, unknown>>;
  fallback: PopularityFallback;
  report: FitReport;
}

/** Options of `rank`. */
export interface RankOptions {
  /** Leave out items the user has in training in that domain. @default true */
  filterSeen?: boolean;
}

/** A model: fit, recommend, explain, save and load, over the scorer its definition builds. */
export class Recommender<S extends Scorer = Scorer> {
  /** The model's name, as in `migrec eval --models`. */
  readonly name: string;
  private readonly definition: ModelDefinition<S>;
  /** The options of the next fit, checked against the schema (the loaded ones after a load). */
  private config: Readonly<Record<string, unknown>>;
  private state: ModelState<S> | undefined;
  private fitting: Promise<unknown> = Promise.resolve();
  private ownPool: KernelPool | undefined;
  private closed = false;

  /**
   * @throws {OptionTypeError} for an unknown option (naming the nearest valid one) or one of the
   * wrong type. @throws {OptionRangeError} for a value out of range.
   */
  constructor(definition: ModelDefinition<S>, options: object = {}) {
    this.definition = definition;
    this.name = definition.name;
    this.config = checkRuntime(resolveOptions(definition.name, definition.schema, options));
    definition.check?.(this.config);
  }

  /** The model's options: the ones given (or loaded) with their defaults, without the pool. */
  get options(): Readonly<Record<string, unknown>> {
    const { pool: _pool, ...rest } = this.config;
    return rest;
  }

  /** What the model offers beyond ranking (a model that declares a capability must deliver it). */
  get capabilities(): Capabilities {
    return { ...(this.definition.capabilitiesFor?.(this.config) ?? this.definition.capabilities) };
  }

  /** The kernel pool: the caller's, or the model's own (started on first use with `threads` > 0). */
  private get pool(): KernelPool | undefined {
    const given = this.config.pool as KernelPool | undefined;
    if (given) return given;
    const threads = this.config.threads as number | undefined;
    if (threads !== undefined && threads > 0 && !this.ownPool && !this.closed) this.ownPool = createPool({ threads });
    return this.ownPool;
  }

  /**
   * Release the model: its own pool (if it started one) is closed, and every later call throws
   * `NotFittedError`. A pool passed in `options.pool` stays open: the caller owns it. Idempotent.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.state = undefined;
    const own = this.ownPool;
    this.ownPool = undefined;
    await own?.close();
  }

  // ---- fit ------------------------------------------------------------------------------

  /**
   * Fit on training data (a `Dataset`, or events that are wrapped in one). The previous model keeps
   * serving until the new one is complete; a failed fit leaves it as it was.
   * @throws {DataError} for empty data. @throws {ModelFitError} when training fails.
   */
  fit(data: Dataset | EventTable, options: FitOptions = {}): Promise<void> {
    const run = this.fitting.then(() => this.fitNow(data, options));
    this.fitting = run.catch(() => undefined);
    return run;
  }

  private async fitNow(input: Dataset | EventTable, options: FitOptions): Promise<void> {
    this.open();
    const ds = input instanceof Dataset ? input : Dataset.fromEvents(input);
    const nItems: number[] = [];
    const matrices: Csr[] = [];
    for (let d = 0; d < ds.nDomains; d++) {
      nItems.push(ds.nItems(d));
      matrices.push(ds.matrix(d));
    }
    const data: ModelData = { vocab: ds.vocab, nUsers: ds.nUsers, nItems, matrices };
    if (options.catalog !== undefined) checkCatalog(options.catalog, nItems);
    const seed = options.seed ?? (this.config.seed as number);
    const view: RequestState = { data, overlay: new Map(), catalog: undefined, defaultDomain: this.defaultDomain() };
    const t0 = performance.now();
    const onProgress = options.onProgress;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new OptionTypeError('onProgress', 'options.onProgress must be a function');
    onProgress?.({ model: this.name, stage: 'fit', done: 0, total: 1 });
    const scorer = await this.definition.fit(
      {
        data,
        dataset: ds,
        backend: this.backend,
        valid: options.valid,
        seed,
        pool: this.pool,
        cache: options.cache ?? new FitCache(),
        memoryBudget: this.config.memoryBudget as number | undefined,
        label: this.name,
        domainIndex: (name) => domainIndex(view, name),
        progress(stage, done, total) {
          onProgress?.({ model: this.label, stage, done, total });
        },
      },
      modelOptions({ ...this.config, seed }, true),
    );
    onProgress?.({ model: this.name, stage: 'fit', done: 1, total: 1 });
    const own = scorer.report();
    const report: FitReport = { model: this.name, seconds: { ...own.seconds, total: (performance.now() - t0) / 1000 }, choices: own.choices, stats: own.stats, fittedAt: new Date().toISOString() };
    this.open();
    this.state = this.newState(scorer, data, new Map(), options.catalog, modelOptions({ ...this.config, seed }), report);
  }

  private newState(scorer: S, data: ModelData, overlay: Overlay, catalog: FitOptions['catalog'], options: Readonly<Record<string, unknown>>, report: FitReport): ModelState<S> {
    return { scorer, data, overlay, catalog, defaultDomain: this.defaultDomain(), options, fallback: new PopularityFallback(data, this.backend), report };
  }

  /** The domain calls default to: `options.domain`, or the model's own choice (the fused model's target). */
  private defaultDomain(): string | undefined {
    return (this.config.domain as string | undefined) ?? this.definition.defaultDomain?.(this.config);
  }

  /** Seconds per stage, choices made on validation data and other figures of the last fit. @throws {NotFittedError} */
  fitReport(): FitReport {
    const r = this.fitted().report;
    return { model: r.model, seconds: { ...r.seconds }, choices: r.choices, stats: r.stats, ...(r.fittedAt !== undefined ? { fittedAt: r.fittedAt } : {}) };
  }

  /** Users, and items and stored rows per domain, of the fitted model. @throws {NotFittedError} */
  summary(): ModelSummary {
    return summarize(this.name, this.fitted());
  }

  /**
   * A user's rows per domain as the model knows them: training rows merged with behaviour folded
   * in since, strongest first. @throws {UnknownIdError} for an unknown user.
   */
  userEvents(userId: string): UserDomainEvents[] {
    return userEvents(this.fitted(), userId);
  }

  /** Up to `limit` (default 20) known user ids starting with `prefix`, in natural order. @throws {OptionRangeError} for a bad limit */
  findUsers(prefix: string, limit = 20): string[] {
    return findUsers(this.fitted(), String(prefix), checkK(limit, 'limit'));
  }

  // ---- index level (evaluation) -----------------------------------------------------------

  /** Top-`k` items of domain `domain` for user indices (the evaluation runner's entry point). */
  async rank(users: Uint32Array, domain: number, k: number, options: RankOptions = {}): Promise<RankedLists> {
    const s = this.fitted();
    if (domain < 0 || domain >= s.data.nItems.length) throw new RangeError(`domain index ${domain} is not a training domain`);
    const slots = await this.scoreMany(s, snapshotBatch(s.data, s.overlay, users), domain, Math.min(k, s.data.nItems[domain]), { filterSeen: options.filterSeen ?? true });
    return new RankedLists(slots.k, slots.counts, slots.indices, slots.scores);
  }

  /** Score a batch on the pool when the model has one, else in this thread. */
  private scoreMany(s: ModelState<S>, batch: UserBatch, d: number, n: number, filter: ScoreFilter): Promise<TopKRows> {
    const pool = this.pool;
    return pool ? s.scorer.scorePooled(batch, d, n, filter, pool) : Promise.resolve(s.scorer.score(batch, d, n, filter));
  }

  // ---- public API ---------------------------------------------------------------------------

  /** Whether a user is known to the model (training rows or folded-in behaviour). @throws {NotFittedError} */
  hasUser(userId: string): boolean {
    return typeof userId === 'string' && knowsUser(this.fitted(), userId);
  }

  /**
   * Recommend items for one user, computed in this thread.
   * @throws {UnknownIdError} for an unknown user (unless `fallback: 'popularity'`), domain or item.
   * @throws {OptionTypeError|OptionRangeError} for invalid options. @throws {NotFittedError} before `fit`.
   * @example rec.recommend('alice', { k: 10, domain: 'music' })
   */
  recommend(userId: string, options: RecommendOptions = {}): Recommendation {
    const s = this.fitted();
    const q = resolveRequest(s, options);
    const u = userIndex(s, userId, q.fallback);
    if (u < 0) return s.fallback.list(q);
    const slots = s.scorer.score(snapshotBatch(s.data, s.overlay, Uint32Array.of(u)), q.d, q.k, q.filter);
    return toRecommendation(slots, 0, s.data, q.d);
  }

  /**
   * Recommend for many users, on the pool when the model has one. Same results as `recommend`.
   * @throws as `recommend`; {KernelError} when a worker fails.
   */
  async recommendBatch(userIds: readonly string[], options: RecommendOptions = {}): Promise<RecommendationBatch> {
    const s = this.fitted();
    if (!Array.isArray(userIds)) throw new TypeError('userIds must be an array of user ids');
    const q = resolveRequest(s, options);
    const n = userIds.length;
    // slot[i]: user i's row in the scored batch, or -1 for the popularity fallback.
    const slot = new Int32Array(n);
    const known = new Uint32Array(n);
    let nKnown = 0;
    for (let i = 0; i < n; i++) {
      const u = userIndex(s, userIds[i], q.fallback);
      if (u < 0) slot[i] = -1;
      else {
        known[nKnown] = u;
        slot[i] = nKnown++;
      }
    }
    const slots = await this.scoreMany(s, snapshotBatch(s.data, s.overlay, known.subarray(0, nKnown)), q.d, q.k, q.filter);
    const fallback = nKnown < n ? s.fallback.list(q) : undefined;
    return new RecommendationBatch([...userIds], (i) => (slot[i] < 0 ? copyRecommendation(fallback!) : toRecommendation(slots, slot[i], s.data, q.d)));
  }

  /**
   * The items most similar to an item of one domain, the item itself excluded.
   * @throws {UnknownIdError} for an unknown item or domain. @throws {NotSupportedError} when the model has no item similarity.
   */
  similarItems(itemId: string, options: { k?: number; domain?: string } = {}): { items: string[]; scores: Float32Array } {
    const s = this.fitted();
    const d = domainIndex(s, options.domain);
    const k = Math.min(checkK(options.k ?? 10), s.data.nItems[d]);
    const i = itemIndex(s, d, itemId);
    if (!this.capabilities.similarItems || !s.scorer.similarItems) throw new NotSupportedError(`${this.name} does not provide similarItems`);
    const r = s.scorer.similarItems(d, i, k + 1);
    const items: string[] = [];
    const scores: number[] = [];
    for (let t = 0; t < r.indices.length && items.length < k; t++) {
      if (r.indices[t] === i) continue;
      items.push(s.data.vocab.items(d).id(r.indices[t]));
      scores.push(r.scores[t]);
    }
    return { items, scores: Float32Array.from(scores) };
  }

  /**
   * The users most similar to a user by their rows in a domain, the user excluded.
   * @throws {UnknownIdError} for an unknown user. @throws {NotSupportedError} when the model has no user similarity.
   */
  similarUsers(userId: string, options: { k?: number; domain?: string } = {}): { users: string[]; scores: Float32Array } {
    const s = this.fitted();
    const k = Math.min(checkK(options.k ?? 10), s.data.nUsers);
    const d = domainIndex(s, options.domain);
    const u = userIndex(s, userId, 'none');
    if (!this.capabilities.similarUsers || !s.scorer.similarUsers) throw new NotSupportedError(`${this.name} does not provide similarUsers`);
    const r = s.scorer.similarUsers(snapshotBatch(s.data, s.overlay, Uint32Array.of(u)), d, k + 1);
    const users: string[] = [];
    const scores: number[] = [];
    for (let t = 0; t < r.indices.length && users.length < k; t++) {
      if (r.indices[t] === u) continue;
      users.push(s.data.vocab.users.id(r.indices[t]));
      scores.push(r.scores[t]);
    }
    return { users, scores: Float32Array.from(scores) };
  }

  /**
   * Add behaviour of a user (known or new) without refitting: it changes that user's next
   * recommendations and seen items. Item ids must be known to the model.
   * @throws {UnknownIdError} for an unknown item or domain; {DataError} for a bad weight or behaviour.
   */
  foldIn(userId: string, events: readonly FoldInEvent[]): void {
    const s = this.fitted();
    if (typeof userId !== 'string' || userId === '') throw new TypeError(`userId must be a non-empty string (got ${JSON.stringify(userId)})`);
    if (!Array.isArray(events)) throw new TypeError('events must be an array of { item, domain?, weight?, behavior? }');
    // Validate everything first (weights and per-item sums finite in float32), so a bad event changes nothing.
    const parsed = checkFoldIn(s, userId, events);
    const u = s.data.vocab.users.intern(userId);
    let byDomain = s.overlay.get(u);
    if (!byDomain) s.overlay.set(u, (byDomain = new Map()));
    for (const { d, i, w } of parsed) {
      let items = byDomain.get(d);
      if (!items) byDomain.set(d, (items = new Map()));
      items.set(i, (items.get(i) ?? 0) + w);
    }
  }

  /** Add training events without a refit (engine/live.ts); ids new to the model are added. @throws {DataError} {NotSupportedError} {NotFittedError} */
  update(events: EventTable): Promise<LiveReport> {
    return this.live((s) => mergeEvents(s.data, events));
  }

  /** Remove a user's rows, folded-in behaviour and id without a refit (engine/live.ts). @throws {UnknownIdError} {NotSupportedError} */
  forget(userId: string): Promise<LiveReport> {
    return this.live((s) => removeUser(s.data, s.overlay, userId));
  }

  /** A live change, run after earlier fits and changes; the new state is swapped in at once. */
  private live(make: (s: ModelState<S>) => ReturnType<Parameters<typeof liveState>[2]>): Promise<LiveReport> {
    const run = this.fitting.then(async () => {
      const s = this.fitted();
      const next = await liveState(this.definition.live?.bind(this.definition), s, () => make(s), { backend: this.backend, pool: this.pool, label: this.name });
      this.open();
      this.state = this.newState(next.scorer, next.data, next.overlay ?? this.fitted().overlay, next.catalog, s.options, s.report);
      return next.report;
    });
    this.fitting = run.catch(() => undefined);
    return run;
  }

  /**
   * Which items or users made up a user's score for an item; the contributions add up to the score.
   * `k` is the length of the list being explained (default 10): the fused model takes that many
   * candidates from each component when it exceeds `candidatesPerComponent`, which can change a score.
   * @throws {UnknownIdError} for an unknown user, item or domain. @throws {NotSupportedError} for a model that cannot explain.
   */
  explain(userId: string, itemId: string, options: { domain?: string; k?: number } = {}): Explanation {
    const s = this.fitted();
    const d = domainIndex(s, options.domain);
    const k = Math.min(checkK(options.k ?? 10), s.data.nItems[d]);
    const i = itemIndex(s, d, itemId);
    const u = userIndex(s, userId, 'none');
    if (!this.capabilities.explain || !s.scorer.explain) throw new NotSupportedError(`${this.name} does not explain its scores`);
    const r = s.scorer.explain(snapshotBatch(s.data, s.overlay, Uint32Array.of(u)), d, i, k);
    r.contributions.sort((a, b) => b.weight - a.weight || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { user: userId, item: itemId, domain: s.data.vocab.domains.id(d), score: r.score, contributions: r.contributions };
  }

  // ---- model file ----------------------------------------------------------------------------

  /**
   * Save the fitted model (and behaviour folded in since) to one file, atomically; nothing is
   * written unless loading the file would succeed.
   * @throws {NotFittedError} before fit; {ModelFitError} when the model is not storable (load
   * would refuse the file); {StorageError} when the path cannot be written or is not a regular file.
   */
  async save(path: string): Promise<void> {
    const s = this.fitted();
    // Before anything is written, the file's content must pass what loadFrom() does with it:
    // the saved options resolve, and the scorer restores (writeEnvelope runs readEnvelope's checks).
    const fit = s.report.fittedAt !== undefined ? { at: s.report.fittedAt, seconds: s.report.seconds } : null;
    const envelope = { model: this.name, data: s.data, overlay: s.overlay, catalog: s.catalog, defaultDomain: s.defaultDomain ?? null, options: s.options, state: s.scorer.exportState(), fit };
    await writeEnvelope(path, envelope, (back) => {
      const saved = modelOptions(resolveOptions(this.name, this.definition.schema, back.options));
      this.definition.restore({ data: back.data, backend: this.backend }, saved, back.state, path);
    });
  }

  /**
   * Restore a model file of this model type into this instance (everything checked before it changes).
   * @throws {ModelFormatError} for a damaged file, another model type, saved options out of range, or a 0.1 file. {StorageError}
   */
  protected async loadFrom(path: string, content?: ModelFileContent): Promise<this> {
    const e = await readEnvelope(path, this.name, content);
    let saved: Readonly<Record<string, unknown>>;
    try {
      saved = resolveOptions(this.name, this.definition.schema, e.options);
      this.definition.check?.(saved);
    } catch (err) {
      if (isOptionError(err)) throw new ModelFormatError(`${path}: the saved options are invalid (${(err as Error).message}): refit the model`);
      throw err;
    }
    const runtime = Object.fromEntries(RUNTIME_OPTIONS.map((k) => [k, this.config[k]]).filter(([, v]) => v !== undefined));
    const options = modelOptions(saved);
    const scorer = this.definition.restore({ data: e.data, backend: this.backend }, options, e.state, path);
    this.open();
    this.config = Object.freeze({ ...options, ...runtime, domain: (runtime.domain as string | undefined) ?? e.defaultDomain ?? undefined });
    const own = scorer.report();
    const fit = e.fit ? { seconds: { ...e.fit.seconds }, fittedAt: e.fit.at } : { seconds: {} };
    this.state = this.newState(scorer, e.data, e.overlay, e.catalog, options, { model: this.name, choices: own.choices, stats: {}, ...fit });
    return this;
  }

  // ---- for subclasses ------------------------------------------------------------------------

  /** The fitted scorer (model-specific accessors). @throws {NotFittedError} */
  protected scorer(): S {
    return this.fitted().scorer;
  }

  /** Index of a domain by name (the default domain when undefined). @throws {UnknownIdError} */
  protected domainOf(name: string | undefined): number {
    return domainIndex(this.fitted(), name);
  }

  private get backend(): 'auto' | 'wasm' | 'js' {
    return (this.config.backend as 'auto' | 'wasm' | 'js' | undefined) ?? 'auto';
  }

  private open(): void {
    if (this.closed) throw new NotFittedError(`${this.name}: the model is closed`);
  }

  private fitted(): ModelState<S> {
    this.open();
    if (!this.state) throw new NotFittedError(`${this.name}: call fit() or load() first`);
    return this.state;
  }
}

/** The options that describe what a model learns (saved in its file); `withInputs` keeps the fit inputs too (handed to the fit). */
function modelOptions(config: Readonly<Record<string, unknown>>, withInputs = false): Readonly<Record<string, unknown>> {
  const left: readonly string[] = withInputs ? RUNTIME_OPTIONS : [...RUNTIME_OPTIONS, ...FIT_INPUTS];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (!left.includes(k) && v !== undefined) out[k] = v;
  return Object.freeze(out);
}

/** Checks of runtime options the schema cannot express (threads at most 4 x the cores). @throws {OptionTypeError|OptionRangeError} */
function checkRuntime(o: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  if (o.pool !== undefined && o.threads !== undefined) throw new OptionTypeError('threads', 'options.pool and options.threads are exclusive: pass one');
  if (o.pool !== undefined && !(o.pool instanceof KernelPool)) throw new OptionTypeError('pool', 'options.pool must be a KernelPool (createPool())');
  if (o.threads !== undefined) checkThreads(o.threads, 0);
  return o;
}
