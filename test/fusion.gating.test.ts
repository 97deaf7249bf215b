import { describe, expect, it } from 'vitest';
import { CandidateScratch, fuseUser, globalScales, normalisedCandidates as withScratch, type UserCandidates } from '../src/fusion/gating.js';
import { baggedSearch, baggedWeights, drawResamples, Evaluator, fusedNdcg, packCandidates, searchWeights } from '../src/fusion/search.js';
import type { TopKRows } from '../src/kernels/types.js';
import { Rng } from '../src/random.js';
import { ndcg } from '../src/eval/metrics.js';

/** `normalisedCandidates` with a fresh scratch (as a fit does). */
function normalisedCandidates(lists: readonly TopKRows[], nUsers: number, scales?: ArrayLike<number>): UserCandidates[] {
  return withScratch(lists, nUsers, scales, new CandidateScratch());
}

/** Slots of k per user from per-user [item, score] lists. */
function slots(k: number, users: Array<Array<[number, number]>>): TopKRows {
  const out: TopKRows = { k, counts: new Uint32Array(users.length), indices: new Uint32Array(users.length * k), scores: new Float32Array(users.length * k) };
  users.forEach((list, b) => {
    out.counts[b] = list.length;
    list.forEach(([i, s], t) => {
      out.indices[b * k + t] = i;
      out.scores[b * k + t] = s;
    });
  });
  return out;
}

describe('fusion gating', () => {
  const a = slots(3, [[[5, 0.8], [2, 0.4]], [[1, 0.2]], []]);
  const b = slots(2, [[[2, -1], [7, -3]], [[1, 2], [4, 1]], [[9, 1]]]);

  it('globalScales: mean top score of non-negative lists, 0 for a list with negative scores or no users', () => {
    const s = globalScales([a, b], 3);
    expect(s[0]).toBeCloseTo((0.8 + 0.2) / 2, 6); // the empty third user does not count
    expect(s[1]).toBe(0);
    expect(globalScales([slots(2, [[], []])], 2)).toEqual([0]);
    expect(globalScales([slots(1, [[[3, 0]]])], 1)).toEqual([0]); // all zero: nothing to divide by
  });

  it('normalisedCandidates: divides by the scale when given, else scales per user; unions are sorted', () => {
    const perUser = normalisedCandidates([a, b], 3);
    expect(Array.from(perUser[0].items)).toEqual([2, 5, 7]);
    // user 0: a divided by its max 0.8; b min-max scaled from [-3, -1]
    expect(Array.from(perUser[0].scores)).toEqual([0.5, 1, 1, 0, 0, 0].map(Math.fround));
    expect(Array.from(perUser[0].listed)).toEqual([1, 1, 1, 0, 0, 1]);
    const scaled = normalisedCandidates([a, b], 3, [0.5, 0]);
    expect(scaled[0].scores[0]).toBeCloseTo(0.8, 6); // item 2: 0.4 / 0.5
    expect(scaled[0].scores[2]).toBeCloseTo(1.6, 6); // item 5: 0.8 / 0.5, above 1: the user's confidence is kept
    expect(scaled[1].scores[0]).toBeCloseTo(0.4, 6); // item 1 from a: 0.2 / 0.5 (per-user scaling would give 1)
    expect(scaled[2].items.length).toBe(1);
  });

  it('normalisedCandidates: an item listed for several users gets its own row for each (the scratch is reset)', () => {
    const x = slots(2, [[[3, 1], [9, 0.5]], [[9, 1]], [[2000, 1], [3, 0.5]]]);
    const y = slots(1, [[[9, 2]], [[3, 4]], []]);
    const scratch = new CandidateScratch();
    const c = withScratch([x, y], 3, undefined, scratch);
    expect(c.map((u) => Array.from(u.items))).toEqual([[3, 9], [3, 9], [3, 2000]]);
    expect(Array.from(c[1].scores)).toEqual([0, 1, 1, 0]); // item 3 only from y, item 9 only from x
    expect(Array.from(c[1].listed)).toEqual([0, 1, 1, 0]);
    expect(Array.from(c[2].scores)).toEqual([0.5, 0, 1, 0]);
    // The caller's scratch is the one used: item 2000 grew it, and it is all -1 again after the call.
    expect(scratch.row.length).toBeGreaterThan(2000);
    expect(scratch.row.every((r) => r === -1)).toBe(true);
    // A later call on the same scratch sees it clean, and gives what a fresh scratch gives.
    expect(Array.from(withScratch([y], 3, undefined, scratch)[0].items)).toEqual([9]);
    expect(withScratch([x, y], 3, undefined, scratch)).toEqual(normalisedCandidates([x, y], 3));
  });

  it('fuseUser: weighted sum over listing components, ties to the lower item, zero weights drop a component', () => {
    const c = normalisedCandidates([slots(3, [[[4, 1], [3, 1], [8, 0.5]]]), slots(1, [[[8, 1]]])], 1)[0];
    expect(Array.from(fuseUser(c, [1, 0], 3).items)).toEqual([3, 4, 8]);
    expect(Array.from(fuseUser(c, [1, 1], 3).items)).toEqual([8, 3, 4]);
    expect(Array.from(fuseUser(c, [0, 1], 3).items)).toEqual([8]);
    const boost = new Float32Array(9).fill(1);
    boost[4] = 2;
    expect(Array.from(fuseUser(c, [1, 0], 2, boost).items)).toEqual([4, 3]);
  });

  it('searchWeights finds the component that ranks the relevant items; bagging is seeded and reproducible', () => {
    // Component 0 ranks the relevant item first for every user, component 1 last.
    const users = Array.from({ length: 40 }, (_, u) => [
      slots(2, [[[u, 1], [u + 100, 0.5]]]),
      slots(2, [[[u + 100, 1], [u, 0.5]]]),
    ]);
    const cands = users.map(([x, y]) => normalisedCandidates([x, y], 1)[0]);
    const relevant = users.map((_, u) => new Set([u]));
    const r = searchWeights(cands, relevant, 2, 10);
    expect(r.ndcg).toBe(1);
    expect(r.weights[0]).toBeGreaterThan(r.weights[1]);
    const one = baggedWeights(cands, relevant, 2, 10, 4, new Rng(1));
    const two = baggedWeights(cands, relevant, 2, 10, 4, new Rng(1));
    expect(Array.from(one.weights)).toEqual(Array.from(two.weights));
    expect(one.ndcg).toBe(1);
  });

  it('the packed weight search scores exactly as fuseUser + ndcg per user (random lists with ties, gaps, zero weights)', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const m = 1 + rng.int(5);
      const nUsers = 1 + rng.int(25);
      const k = 1 + rng.int(12);
      // Scores from a few levels, so ties are common; some users list nothing.
      const lists = Array.from({ length: m }, () =>
        slots(8, Array.from({ length: nUsers }, () => Array.from({ length: rng.int(9) }, (): [number, number] => [rng.int(30), rng.int(4) / 2]))),
      );
      const cands = normalisedCandidates(lists, nUsers, trial % 2 === 0 ? undefined : lists.map(() => 1 + rng.int(3)));
      // Relevant: some listed items, some never listed, some users with none.
      const relevant = cands.map(() => new Set(Array.from({ length: rng.int(4) }, () => rng.int(35))));
      for (let w = 0; w < 5; w++) {
        const weights: number[] = Array.from({ length: m }, () => [0, 0.1, 0.5, 1, 2][rng.int(5)]);
        if (!weights.some((x) => x !== 0)) weights[0] = 1;
        const reference = cands.reduce((s, c, u) => s + ndcg(fuseUser(c, weights, k).items, relevant[u], k), 0) / cands.length;
        expect(fusedNdcg(cands, relevant, weights, k)).toBe(reference);
      }
      // Pruned rows are out of every top k only for non-negative weights.
      expect(() => fusedNdcg(cands, relevant, Array.from({ length: m }, (_, q) => (q === 0 ? -1 : 1)), k)).toThrow(RangeError);
    }
  });

  it('the weight search remembers per-user NDCG exactly: resamples with repeated users and repeated weight vectors give the sums of fresh values, in order', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 40; trial++) {
      const m = 1 + rng.int(4);
      const nUsers = 1 + rng.int(30);
      const k = 1 + rng.int(10);
      const lists = Array.from({ length: m }, () =>
        slots(8, Array.from({ length: nUsers }, () => Array.from({ length: rng.int(9) }, (): [number, number] => [rng.int(30), rng.int(4) / 2]))),
      );
      const cands = normalisedCandidates(lists, nUsers, lists.map(() => 1 + rng.int(3)));
      const relevant = cands.map(() => new Set(Array.from({ length: rng.int(4) }, () => rng.int(35))));
      const packed = packCandidates(cands, relevant, m, k);
      // A small memo limit on one of them, so it also starts over during the trial.
      const evaluators = [new Evaluator(packed), new Evaluator(packed, 2 * nUsers)];
      const vectors = Array.from({ length: 4 }, () => Array.from({ length: m }, () => [0, 0.25, 1, 2][rng.int(4)]));
      for (let call = 0; call < 12; call++) {
        const weights = vectors[rng.int(vectors.length)];
        if (!weights.some((x) => x !== 0)) weights[0] = 1;
        const users = Uint32Array.from({ length: 1 + rng.int(2 * nUsers) }, () => rng.int(nUsers));
        let sum = 0;
        for (const u of users) sum += ndcg(fuseUser(cands[u], weights, k).items, relevant[u], k);
        for (const ev of evaluators) expect(ev.meanNdcg(weights, users)).toBe(sum / users.length);
      }
    }
  });

  it('packCandidates with a shared map of reachable rows packs as without it', () => {
    const rng = new Rng(12);
    const lists = Array.from({ length: 3 }, () => slots(20, Array.from({ length: 12 }, () => Array.from({ length: rng.int(20) }, (): [number, number] => [rng.int(60), rng.int(6) / 2]))));
    const cands = normalisedCandidates(lists, 12, [1, 2, 1]);
    const relevant = cands.map(() => new Set([rng.int(60), rng.int(60)]));
    const reach = new Map();
    const all = packCandidates(cands, relevant, 3, 5, reach);
    expect(reach.size).toBe(12);
    const half = packCandidates(cands.slice(6), relevant.slice(6), 3, 5, reach);
    expect(half).toEqual(packCandidates(cands.slice(6), relevant.slice(6), 3, 5));
    expect(all).toEqual(packCandidates(cands, relevant, 3, 5));
    const resamples = drawResamples(12, 4, new Rng(1));
    expect(baggedSearch(all, resamples)).toEqual(baggedWeights(cands, relevant, 3, 5, 4, new Rng(1)));
  });
});
