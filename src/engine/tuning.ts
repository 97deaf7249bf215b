/**
 * Model selection inside `fit`, shared by every model that tunes: the validation users of a
 * domain with their relevant items, the mean NDCG@K of a ranking on them (the evaluation runner's
 * definitions), and one "keep the best on validation, stop after `patience` evaluations without
 * improvement" loop.
 */
import type { EventTable } from '../data/events.js';
import { ndcg } from '../eval/metrics.js';

/** NDCG@k of one ranked list (the evaluation runner's definition), for validation inside fits. */
export { ndcg };

/** Validation users of one domain (ascending indices) with their relevant items. */
export interface ValidationTruth {
  users: Uint32Array;
  /** Items unknown to training are kept as never-hittable negative ids. */
  relevant: Set<number>[];
}

/** Validation users of domain `d` with their relevant items. */
export function validationTruth(valid: EventTable, d: number, nItems: number): ValidationTruth {
  const byUser = new Map<number, Set<number>>();
  for (let r = 0; r < valid.length; r++) {
    if (valid.domain[r] !== d) continue;
    let s = byUser.get(valid.user[r]);
    if (!s) byUser.set(valid.user[r], (s = new Set()));
    s.add(valid.item[r] < nItems ? valid.item[r] : -1 - valid.item[r]);
  }
  const users = Uint32Array.from([...byUser.keys()].sort((a, b) => a - b));
  return { users, relevant: Array.from(users, (u) => byUser.get(u)!) };
}

/** Validation users of domain `d`, or undefined without validation data or users. */
export function validUsers(valid: EventTable | undefined, d: number, nItems: number): ValidationTruth | undefined {
  if (!valid) return undefined;
  const t = validationTruth(valid, d, nItems);
  return t.users.length > 0 ? t : undefined;
}

/** Mean NDCG@k of ranked lists (`items` of user i at [i*k, i*k + counts[i])) against `relevant[i]`. */
export function meanNdcg(lists: { k: number; counts: Uint32Array; indices: Uint32Array }, relevant: readonly Set<number>[], k: number): number {
  if (relevant.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < relevant.length; i++) s += ndcg(lists.indices.subarray(i * lists.k, i * lists.k + lists.counts[i]), relevant[i], k);
  return s / relevant.length;
}

/**
 * The best candidate seen on validation data. `offer` keeps a candidate that scores strictly
 * higher than the best so far (so, among equal scores, the first offered), or an equal one when
 * the caller says it wins ties; it returns true when `patience` offers in a row brought no
 * improvement (time to stop).
 */
export class BestOnValidation<T> {
  /** The best candidate (undefined before the first offer). */
  value: T | undefined;
  /** Its score (-Infinity before the first offer). */
  score = -Infinity;
  private since = 0;

  /** @param patience offers without improvement before `offer` says stop. @default Infinity */
  constructor(private readonly patience = Infinity) {}

  /** Offer a candidate; true when the patience has run out. */
  offer(score: number, value: T, winsTies = false): boolean {
    if (score > this.score || (winsTies && score === this.score)) {
      this.score = score;
      this.value = value;
      this.since = 0;
      return false;
    }
    return ++this.since >= this.patience;
  }
}
