/**
 * Validation scoring for model selection inside `fit`: the mean NDCG@K of a ranking function on
 * the validation users of one domain (same definitions as the evaluation runner).
 */
import type { EventTable } from '../data/events.js';
import { ndcg } from './metrics.js';

/** Validation users of domain `d` with their relevant items (items unknown to training kept as never-hittable). */
export function validationTruth(valid: EventTable, d: number, nItems: number): { users: Uint32Array; relevant: Set<number>[] } {
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

/** Mean NDCG@k of ranked lists (`lists.get(i).items` for user i) against `relevant[i]`. */
export function meanNdcg(lists: { get(i: number): { items: ArrayLike<number> } }, relevant: Set<number>[], k: number): number {
  if (relevant.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < relevant.length; i++) s += ndcg(lists.get(i).items, relevant[i], k);
  return s / relevant.length;
}
