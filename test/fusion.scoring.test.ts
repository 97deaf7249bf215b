/**
 * The fused model's scoring (fusion/fused-batch.ts, fused-core.ts and the pool's `fused` task)
 * against the reference it replaced: every component's own `score`, then `normalisedCandidates`
 * and `fuseUser` of gating.ts per user. Same items and scores, bit for bit, in this thread and on
 * pools of 1 and 2 threads, for users of every bucket, users folded in after the fit, with and
 * without seen items, with an allowed-item filter, n above candidatesPerComponent, and weights
 * with zeros, fixed divisors and a long-tail boost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dataset, generateTwoDomain, MigrationRecommender, createPool, type KernelPool } from '../src/index.js';
import type { ScoreFilter } from '../src/engine/exec.js';
import { snapshotBatch, type ModelData, type Overlay, type UserBatch } from '../src/engine/rows.js';
import { BUCKETS, bucketOf, CandidateScratch, fuseUser, normalisedCandidates } from '../src/fusion/gating.js';
import type { FusedScorer } from '../src/fusion/migration.js';
import type { TargetFusion } from '../src/fusion/weights.js';
import type { TopKRows } from '../src/kernels/types.js';

/** The scoring before the fused path: each component's list, then the per-user unions of gating.ts. */
function reference(scorer: FusedScorer, f: TargetFusion, batch: UserBatch, t: number, n: number, per: number, filter: ScoreFilter): TopKRows {
  const lists = scorer.components.map((c) => c.scorer.score(batch, t, per, filter));
  const m = batch.users.length;
  const cands = normalisedCandidates(lists, m, f.scales, new CandidateScratch());
  const tr = batch.rows(t);
  const src = f.sources.map((s) => batch.rows(s));
  const out: TopKRows = { k: n, counts: new Uint32Array(m), indices: new Uint32Array(m * n), scores: new Float32Array(m * n) };
  for (let b = 0; b < m; b++) {
    let s = 0;
    for (const r of src) s += r.indptr[b + 1] - r.indptr[b];
    const r = fuseUser(cands[b], f.weights[bucketOf(tr.indptr[b + 1] - tr.indptr[b], s)], n, f.boost);
    out.counts[b] = r.items.length;
    out.indices.set(r.items, b * n);
    out.scores.set(r.scores, b * n);
  }
  return out;
}

/** The lists of each user, as [items, scores] (slots past a count are ignored). */
function rowsOf(r: TopKRows): Array<[number[], number[]]> {
  return Array.from(r.counts, (c, b) => [Array.from(r.indices.subarray(b * r.k, b * r.k + c)), Array.from(r.scores.subarray(b * r.k, b * r.k + c))]);
}

interface Internals {
  state: { scorer: FusedScorer; data: ModelData; overlay: Overlay };
}

// The user bridge (its search and scoring run inside the fused task, see fused-core.ts) as
// chosen on validation data, and with neighbours and exponent pinned.
const BRIDGES = [
  { label: 'user bridge chosen on validation', bridge: {} },
  { label: 'user bridge with 15 neighbours, exponent 2', bridge: { neighbors: 15, exponent: 2 } },
] as const;

describe.each(BRIDGES)('fused scoring ($label)', ({ bridge }) => {
  const { events } = generateTwoDomain({ events: 6000, seed: 3 });
  const data = Dataset.fromEvents(events);
  const model = new MigrationRecommender({
    target: 'music',
    sources: ['books'],
    seed: 1,
    candidatesPerComponent: 20,
    components: { emcdr: { factors: 8, iterations: 3 }, ptupcdr: false, 'bridge-user': bridge },
  });
  const pools: KernelPool[] = [];
  let t = 0;

  beforeAll(async () => {
    await model.fit(data);
    t = data.vocab.domains.get('music');
    pools.push(createPool({ threads: 1 }), createPool({ threads: 2 }));
    // The user bridge takes part, with the plan asked for.
    const s = (model as unknown as Internals).state.scorer;
    const c = s.components.findIndex((x) => x.name === 'bridge-user');
    const plan = (s.components[c].scorer as unknown as { plans: Array<{ variant: string; neighbors: number; exponent: number } | undefined> }).plans[t];
    expect(plan?.variant).toBe('user');
    if ('exponent' in bridge) expect([plan?.neighbors, plan?.exponent]).toEqual([15, 2]);
    expect(Object.values(s.fusion[t]!.weights).some((w) => w[c] > 0)).toBe(true);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await model.close();
  });

  /** Users of every bucket (a few each), in a fixed order. */
  function bucketUsers(): Uint32Array {
    const s = (model as unknown as Internals).state;
    const tr = s.data.matrices[t];
    const src = s.data.matrices[1 - t];
    const picked: number[][] = BUCKETS.map(() => []);
    for (let u = 0; u < s.data.nUsers; u++) {
      const q = BUCKETS.indexOf(bucketOf(tr.indptr[u + 1] - tr.indptr[u], src.indptr[u + 1] - src.indptr[u]));
      if (picked[q].length < 40) picked[q].push(u);
    }
    // Every training user has rows somewhere, so none is cold without source: two indices past
    // the users (no rows at all) stand for users in that bucket.
    picked[BUCKETS.indexOf('cold-nosrc')].push(s.data.nUsers + 7, s.data.nUsers + 9);
    for (const p of picked) expect(p.length).toBeGreaterThan(1);
    return Uint32Array.from(picked.flat());
  }

  async function compare(users: Uint32Array, n: number, filter: ScoreFilter): Promise<void> {
    const s = (model as unknown as Internals).state;
    const scorer = s.scorer;
    const f = scorer.fusion[t]!;
    const per = Math.max(n, 20);
    const want = rowsOf(reference(scorer, f, snapshotBatch(s.data, s.overlay, users), t, n, per, filter));
    expect(want.some(([items]) => items.length > 0)).toBe(true);
    expect(rowsOf(scorer.score(snapshotBatch(s.data, s.overlay, users), t, n, filter))).toEqual(want);
    for (const pool of pools) expect(rowsOf(await scorer.scorePooled(snapshotBatch(s.data, s.overlay, users), t, n, filter, pool))).toEqual(want);
    // One user at a time, as recommend does.
    for (const b of [0, users.length - 1]) expect(rowsOf(scorer.score(snapshotBatch(s.data, s.overlay, users.subarray(b, b + 1)), t, n, filter))).toEqual([want[b]]);
  }

  it('matches the reference for users of every bucket, with and without seen items, n above the candidates', async () => {
    const users = bucketUsers();
    await compare(users, 10, { filterSeen: true });
    await compare(users, 35, { filterSeen: true });
    await compare(users, 10, { filterSeen: false });
  });

  it('matches the reference with an allowed-item filter', async () => {
    const allowed = new Uint8Array(data.nItems(t));
    for (let i = 0; i < allowed.length; i++) allowed[i] = i % 3 === 0 ? 0 : 1;
    await compare(bucketUsers(), 10, { filterSeen: true, allowed });
  });

  it('matches the reference with zero weights, fixed divisors and a long-tail boost', async () => {
    const f = (model as unknown as Internals).state.scorer.fusion[t]!;
    const saved = { weights: structuredClone(f.weights), scales: f.scales.slice(), boost: f.boost };
    try {
      const m = f.scales.length;
      f.weights = { cold: Array.from({ length: m }, (_, c) => (c % 2 ? 0.5 : 0)), 'cold-nosrc': Array.from({ length: m }, () => 1), sparse: Array.from({ length: m }, (_, c) => (c === 1 ? 0 : 0.25 * (c + 1))), warm: Array.from({ length: m }, (_, c) => (c === 0 ? 0 : 2)) };
      f.scales = Array.from({ length: m }, (_, c) => (c % 2 ? Math.fround(0.7) : 0));
      f.boost = Float32Array.from({ length: data.nItems(t) }, (_, i) => (i % 5 === 0 ? 1.5 : 1));
      await compare(bucketUsers(), 10, { filterSeen: true });
    } finally {
      Object.assign(f, saved);
    }
  });

  it('matches the reference for users folded in after the fit (a newcomer, changed rows) mixed with training users', async () => {
    const s = (model as unknown as Internals).state;
    const users = bucketUsers();
    const warm = data.vocab.users.id(users[users.length - 1]);
    const item = (d: string, i: number) => ({ item: data.vocab.items(data.vocab.domains.get(d)).id(i), domain: d });
    model.foldIn(warm, [item('music', 3), item('books', 5)]);
    model.foldIn('newcomer-a', [item('books', 1), item('books', 2), item('music', 4)]);
    model.foldIn('newcomer-b', [item('books', 7)]);
    const extra = ['newcomer-a', 'newcomer-b'].map((u) => s.data.vocab.users.get(u));
    const mixed = Uint32Array.from([...users.subarray(0, 20), ...extra, ...users.subarray(users.length - 5)]);
    await compare(mixed, 10, { filterSeen: true });
    await compare(mixed, 25, { filterSeen: false });
  });

  it('gives the same lists through recommendBatch on a pool and recommend in this thread', async () => {
    const s = (model as unknown as Internals).state;
    const ids = [...Array.from(bucketUsers()).filter((u) => u < data.nUsers), s.data.vocab.users.get('newcomer-a')].map((u) => s.data.vocab.users.id(u));
    const dir = mkdtempSync(join(tmpdir(), 'migrec-fusion-scoring-'));
    try {
      const p = join(dir, 'm.migrec');
      await model.save(p);
      const back = await MigrationRecommender.load(p, { pool: pools[1] });
      const batch = await back.recommendBatch(ids, { k: 10, filterSeen: true });
      ids.forEach((id, i) => expect(batch.get(i), id).toEqual(model.recommend(id, { k: 10, filterSeen: true })));
      await back.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
