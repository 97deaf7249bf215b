/**
 * Evaluation runner: full ranking over every training item of each target domain, items the user
 * has in training in that domain excluded, metrics averaged over users per model, domain and
 * segment. It calls models only through `IndexModel.rank`; it never reads their internals.
 */
import type { Dataset } from '../data/dataset.js';
import type { EventTable } from '../data/events.js';
import { DataError, OptionRangeError } from '../errors.js';
import type { FitOptions } from '../engine/types.js';
import type { IndexModel } from '../models/types.js';
import { averagePrecision, hitRate, ndcg, precision, recall, reciprocalRank } from './metrics.js';

/** Metric names the runner can report, as they appear in result keys (`ndcg@10`). */
export const METRIC_NAMES = ['hr', 'recall', 'ndcg', 'mrr', 'precision', 'map'] as const;
/** One metric name. */
export type MetricName = (typeof METRIC_NAMES)[number];

/** The metrics of the `migrec eval --json` contract, in contract order. */
export const CONTRACT_METRICS: readonly MetricName[] = ['hr', 'recall', 'ndcg', 'mrr'];

/** User segments: cold (no training rows in the target domain), warm (some), all. */
export type Segment = 'cold' | 'warm' | 'all';

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Cut-offs. @default [10, 20] */
  ks?: readonly number[];
  /** Metrics per cut-off. @default CONTRACT_METRICS */
  metrics?: readonly MetricName[];
  /** Validation events handed to `fit` (tuning and early stopping only). */
  valid?: EventTable;
  /** Seed handed to `fit`. @default 0 */
  seed?: number;
  /** Results shared between the models' fits (e.g. ALS factors of the transfer models): pass a `new FitCache()` to train them once per run. @default none */
  cache?: FitOptions['cache'];
  /** Users ranked per `rank` call. @default 1024 */
  usersPerCall?: number;
  /** Called with a line of progress (model and stage). */
  onProgress?: (message: string) => void;
  /** Also return every user's metric values (`EvalResult.perUser`), e.g. for `bootstrapMean`. @default false */
  perUser?: boolean;
}

/** One row of results: a model on one domain and segment. */
export interface EvalResult {
  model: string;
  domain: string;
  segment: Segment;
  users: number;
  /** `hr@10`, `ndcg@20`, ... */
  metrics: Record<string, number>;
  /** With `options.perUser`: the users (ascending internal ids) and each metric's value per user, in that order. */
  perUser?: { users: Uint32Array; values: Record<string, Float64Array> };
}

/** What `evaluate` returns. */
export interface EvalReport {
  k: number[];
  results: EvalResult[];
  timings: Record<string, { fit_s: number; score_s: number }>;
  /** Test rows whose item never occurs in training: counted as relevant, never recommendable. */
  unknownItems: { rows: number; byDomain: Record<string, number> };
}

/** Test users of one domain with their relevant items. */
interface DomainTruth {
  domain: number;
  users: Uint32Array;
  relevant: Set<number>[];
  cold: Uint8Array;
}

/**
 * Fit each model on `train` and rank the test users of every domain present in `test`.
 * @throws {DataError} when a test domain has no training items.
 * @throws {RangeError} for bad cut-offs or metric names.
 */
export async function evaluate(train: Dataset, test: EventTable, models: readonly IndexModel[], options: EvaluateOptions = {}): Promise<EvalReport> {
  const ks = [...(options.ks ?? [10, 20])];
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k <= 0)) {
    throw new OptionRangeError('ks', `options.ks must be positive integers (got ${ks.join(',') || 'none'})`);
  }
  const metrics = [...(options.metrics ?? CONTRACT_METRICS)];
  for (const m of metrics) if (!(METRIC_NAMES as readonly string[]).includes(m)) throw new RangeError(`unknown metric ${JSON.stringify(m)}`);
  if (test.vocab !== train.vocab) throw new RangeError('test events must be loaded against the training vocabularies (options.vocab)');
  const usersPerCall = options.usersPerCall ?? 1024;
  const maxK = Math.max(...ks);
  const { truths, unknownItems } = groundTruth(train, test);

  const results: EvalResult[] = [];
  const timings: EvalReport['timings'] = {};
  for (const model of models) {
    options.onProgress?.(`${model.name}: fit`);
    const t0 = performance.now();
    await model.fit(train, { valid: options.valid, seed: options.seed, cache: options.cache });
    const t1 = performance.now();
    options.onProgress?.(`${model.name}: rank`);
    for (const truth of truths) {
      const sums = { cold: newSums(ks, metrics), warm: newSums(ks, metrics), all: newSums(ks, metrics) };
      const perUser = options.perUser ? new Map<string, Float64Array>() : undefined;
      if (perUser) for (const k of ks) for (const m of metrics) perUser.set(`${m}@${k}`, new Float64Array(truth.users.length));
      for (let s = 0; s < truth.users.length; s += usersPerCall) {
        const batch = truth.users.subarray(s, Math.min(truth.users.length, s + usersPerCall));
        const lists = await model.rank(batch, truth.domain, maxK, { filterSeen: true });
        for (let i = 0; i < batch.length; i++) {
          const ranked = lists.get(i).items;
          const rel = truth.relevant[s + i];
          const seg = truth.cold[s + i] ? sums.cold : sums.warm;
          for (const k of ks) {
            for (const m of metrics) {
              const v = metricValue(m, ranked, rel, k);
              seg.values[`${m}@${k}`] += v;
              sums.all.values[`${m}@${k}`] += v;
              if (perUser) perUser.get(`${m}@${k}`)![s + i] = v;
            }
          }
          seg.users++;
          sums.all.users++;
        }
      }
      const domainName = train.vocab.domains.id(truth.domain);
      for (const segment of ['cold', 'warm', 'all'] as const) {
        const acc = sums[segment];
        if (acc.users === 0) continue;
        const out: Record<string, number> = {};
        for (const k of ks) for (const m of metrics) out[`${m}@${k}`] = acc.values[`${m}@${k}`] / acc.users;
        const result: EvalResult = { model: model.name, domain: domainName, segment, users: acc.users, metrics: out };
        if (perUser) {
          const keep: number[] = [];
          for (let i = 0; i < truth.users.length; i++) if (segment === 'all' || (segment === 'cold') === (truth.cold[i] === 1)) keep.push(i);
          const values: Record<string, Float64Array> = {};
          for (const [name, all] of perUser) values[name] = Float64Array.from(keep, (i) => all[i]);
          result.perUser = { users: Uint32Array.from(keep, (i) => truth.users[i]), values };
        }
        results.push(result);
      }
    }
    const t2 = performance.now();
    timings[model.name] = { fit_s: (t1 - t0) / 1000, score_s: (t2 - t1) / 1000 };
  }
  return { k: ks, results, timings, unknownItems };
}

function newSums(ks: number[], metrics: MetricName[]): { users: number; values: Record<string, number> } {
  const values: Record<string, number> = {};
  for (const k of ks) for (const m of metrics) values[`${m}@${k}`] = 0;
  return { users: 0, values };
}

function metricValue(m: MetricName, ranked: Uint32Array, rel: Set<number>, k: number): number {
  switch (m) {
    case 'hr':
      return hitRate(ranked, rel, k);
    case 'recall':
      return recall(ranked, rel, k);
    case 'ndcg':
      return ndcg(ranked, rel, k);
    case 'mrr':
      return reciprocalRank(ranked, rel, k);
    case 'precision':
      return precision(ranked, rel, k);
    case 'map':
      return averagePrecision(ranked, rel, k);
  }
}

/** Group test rows by domain and user; unknown items get negative ids (relevant, never rankable). */
function groundTruth(train: Dataset, test: EventTable): { truths: DomainTruth[]; unknownItems: EvalReport['unknownItems'] } {
  const byDomain = new Map<number, Map<number, Set<number>>>();
  const unknownByDomain: Record<string, number> = Object.create(null);
  let unknownRows = 0;
  for (let r = 0; r < test.length; r++) {
    const d = test.domain[r];
    if (train.nItems(d) === 0) {
      throw new DataError(
        { file: test.source, line: test.line[r] || undefined },
        `domain ${JSON.stringify(test.vocab.domains.id(d))} has no training rows, so it cannot be evaluated`,
      );
    }
    let users = byDomain.get(d);
    if (!users) byDomain.set(d, (users = new Map()));
    const u = test.user[r];
    let rel = users.get(u);
    if (!rel) users.set(u, (rel = new Set()));
    const item = test.item[r];
    if (item >= train.nItems(d)) {
      unknownRows++;
      const name = test.vocab.domains.id(d);
      unknownByDomain[name] = (unknownByDomain[name] ?? 0) + 1;
      rel.add(-1 - item);
    } else rel.add(item);
  }
  const truths: DomainTruth[] = [];
  for (const d of [...byDomain.keys()].sort((a, b) => (test.vocab.domains.id(a) < test.vocab.domains.id(b) ? -1 : 1))) {
    const users = byDomain.get(d)!;
    const ids = Uint32Array.from([...users.keys()].sort((a, b) => a - b));
    const cold = new Uint8Array(ids.length);
    ids.forEach((u, i) => {
      cold[i] = train.userRowCount(u, d) === 0 ? 1 : 0;
    });
    truths.push({ domain: d, users: ids, relevant: Array.from(ids, (u) => users.get(u)!), cold });
  }
  return { truths, unknownItems: { rows: unknownRows, byDomain: unknownByDomain } };
}
