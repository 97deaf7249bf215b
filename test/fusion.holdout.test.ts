/**
 * Every bucket is tuned on users of its kind. A cold-start validation file has only cold users; the
 * fused model then holds out the latest target rows of seeded samples of sparse and warm training
 * users (all target rows of cold ones when validation has none) and tunes those buckets on them.
 * Also: the bounded validation sample, and PTUPCDR left out where nothing can show it personalises.
 */
import { describe, expect, it } from 'vitest';
import { coldStartSplit, Dataset, generateTwoDomain, MigrationRecommender } from '../src/index.js';
import { gatherRows } from '../src/engine/rows.js';
import { heldPairs, holdoutSet, keptRows, MAX_HELD_SHARE } from '../src/fusion/holdout.js';
import { Rng } from '../src/random.js';

const { events } = generateTwoDomain({ events: 40_000, users: 3000, items: 800, seed: 3 });
const split = coldStartSplit(events, { source: 'books', target: 'music', beta: 0.2, validBeta: 0.1, seed: 3 });
const train = Dataset.fromEvents(split.train);
const FAST = { components: ['popularity', 'itemknn', 'userknn', 'bridge-user', 'bridge-item'], bagging: 2, holdoutUsers: 60, target: 'music', seed: 5 } as const;

interface Choice {
  components: string[];
  weights: Record<string, number[]>;
  validation: Record<string, { users: number; ndcg: number; heldOut?: number }>;
}

function modelData(d: Dataset) {
  return { vocab: d.vocab, nUsers: d.nUsers, nItems: [0, 1].map((x) => d.nItems(x)), matrices: [0, 1].map((x) => d.matrix(x)) };
}

describe('held-out training users', () => {
  const data = modelData(train);
  const t = train.vocab.domains.get('music');
  const s = train.vocab.domains.get('books');

  it('makes users of the asked bucket, with the held-out items as the truth', () => {
    const m = data.matrices[t];
    for (const bucket of ['cold', 'sparse', 'warm'] as const) {
      const h = holdoutSet(data, train.events, t, [s], bucket, 50, new Set(), Rng.derive(1, bucket))!;
      expect(h.users.length).toBe(50);
      expect([...h.users]).toEqual([...h.users].sort((a, b) => a - b));
      const rows = h.batch.rows(t);
      const source = h.batch.rows(s);
      h.users.forEach((u, b) => {
        const before = m.indptr[u + 1] - m.indptr[u];
        const after = rows.indptr[b + 1] - rows.indptr[b];
        const kept = new Set(rows.indices.subarray(rows.indptr[b], rows.indptr[b + 1]));
        expect(h.relevant[b].size).toBeGreaterThan(0);
        for (const i of h.relevant[b]) expect(kept.has(i)).toBe(false);
        expect(after + h.relevant[b].size).toBe(before);
        if (bucket === 'cold') {
          expect(after).toBe(0);
          expect(source.indptr[b + 1] - source.indptr[b]).toBeGreaterThan(0);
        } else if (bucket === 'sparse') expect(after >= 1 && after <= 4).toBe(true);
        else expect(after).toBeGreaterThanOrEqual(5);
      });
      // Source rows are the training rows, untouched.
      const full = gatherRows(data, h.users, s, undefined);
      expect([...source.indices]).toEqual([...full.indices]);
    }
  });

  it('holds out the item of the latest event', () => {
    const h = holdoutSet(data, train.events, t, [s], 'warm', 20, new Set(), Rng.derive(2, 'w'))!;
    const ev = train.events;
    h.users.forEach((u, b) => {
      let best = -Infinity;
      let item = -1;
      for (let r = 0; r < ev.length; r++) {
        if (ev.user[r] !== u || ev.domain[r] !== t) continue;
        if (ev.timestamp[r] >= best) {
          best = ev.timestamp[r];
          item = ev.item[r];
        }
      }
      expect([...h.relevant[b]]).toEqual([item]);
    });
  });

  it('leaves out excluded users, is seeded, and is undefined when no user qualifies', () => {
    const a = holdoutSet(data, train.events, t, [s], 'warm', 30, new Set(), Rng.derive(9, 'x'))!;
    const b = holdoutSet(data, train.events, t, [s], 'warm', 30, new Set(), Rng.derive(9, 'x'))!;
    expect([...a.users]).toEqual([...b.users]);
    const c = holdoutSet(data, train.events, t, [s], 'warm', 30, new Set(a.users), Rng.derive(9, 'x'))!;
    for (const u of c.users) expect(a.users.includes(u)).toBe(false);
    expect(holdoutSet(data, train.events, t, [], 'cold', 30, new Set(), Rng.derive(9, 'x'))).toBeUndefined();
    // At most a tenth of the users who qualify, so the tuning fit without them keeps most rows.
    const m = data.matrices[t];
    let warmUsers = 0;
    for (let u = 0; u < m.nRows; u++) if (m.indptr[u + 1] - m.indptr[u] >= 6) warmUsers++;
    expect(holdoutSet(data, train.events, t, [s], 'warm', 1e9, new Set(), Rng.derive(9, 'x'))!.users.length).toBe(Math.floor(warmUsers * MAX_HELD_SHARE));
  });
});

describe('rows kept for the tuning fit', () => {
  it('drops exactly the held-out (user, domain, item) rows', () => {
    const data = modelData(train);
    const t = train.vocab.domains.get('music');
    const s = train.vocab.domains.get('books');
    const warm = holdoutSet(data, train.events, t, [s], 'warm', 40, new Set(), Rng.derive(4, 'w'))!;
    const cold = holdoutSet(data, train.events, t, [s], 'cold', 40, new Set(warm.users), Rng.derive(4, 'c'))!;
    const keep = new Set(keptRows(train.events, [{ t, set: warm }, { t, set: cold }]));
    const ev = train.events;
    const heldOf = new Map<number, Set<number>>();
    for (const h of [warm, cold]) h.users.forEach((u, b) => heldOf.set(u, h.relevant[b]));
    let dropped = 0;
    for (let r = 0; r < ev.length; r++) {
      const held = ev.domain[r] === t && heldOf.get(ev.user[r])?.has(ev.item[r]) === true;
      expect(keep.has(r)).toBe(!held);
      if (held) dropped++;
    }
    expect(dropped).toBeGreaterThanOrEqual(80);
    // The reduced data set: same sizes, the held-out users' target rows as in their batches.
    const reduced = train.subset([...keep].sort((a, b) => a - b));
    // What the fit builds instead (no rows read): the same matrices.
    const without = train.without(heldPairs([{ t, set: warm }, { t, set: cold }]));
    for (let d = 0; d < train.nDomains; d++) expect(without.matrix(d)).toEqual(reduced.matrix(d));
    expect(reduced.nUsers).toBe(train.nUsers);
    expect(reduced.nItems(t)).toBe(train.nItems(t));
    const m = reduced.matrix(t);
    const rows = warm.batch.rows(t);
    warm.users.forEach((u, b) => {
      expect([...m.indices.subarray(m.indptr[u], m.indptr[u + 1])]).toEqual([...rows.indices.subarray(rows.indptr[b], rows.indptr[b + 1])]);
    });
  });
});

describe('fused model: weights per bucket', () => {
  it('tunes the warm and sparse buckets on held-out users when validation has only cold ones', async () => {
    const model = new MigrationRecommender(FAST);
    await model.fit(train, { valid: split.valid });
    const c = model.fitReport().choices.music as Choice;
    expect(c.validation.cold.heldOut).toBeUndefined();
    expect(c.validation.cold.users).toBeGreaterThanOrEqual(30);
    for (const b of ['warm', 'sparse']) {
      expect(c.validation[b].heldOut).toBe(60);
      expect(c.validation[b].ndcg).toBeGreaterThan(0);
    }
    // Warm users are served by the target's own history: item kNN or user kNN gets weight there,
    // while the cold bucket (nothing in the target) cannot use them.
    const at = (b: string, name: string) => c.weights[b][c.components.indexOf(name)];
    expect(at('warm', 'itemknn') + at('warm', 'userknn')).toBeGreaterThan(0);
    expect(c.weights.warm).not.toEqual(c.weights.cold);

    const off = new MigrationRecommender({ ...FAST, holdoutUsers: 0 });
    await off.fit(train, { valid: split.valid });
    const o = off.fitReport().choices.music as Choice;
    expect(o.weights.warm).toEqual(o.weights.cold); // the old behaviour: cold-tuned weights for everyone
    expect(o.validation.warm).toBeUndefined();
  });

  it('tunes every bucket without a validation file, the same way for the same seed', async () => {
    const a = new MigrationRecommender(FAST);
    await a.fit(train);
    const b = new MigrationRecommender(FAST);
    await b.fit(train);
    const ca = a.fitReport().choices.music as Choice;
    expect(ca).toEqual(b.fitReport().choices.music);
    for (const bucket of ['cold', 'sparse', 'warm']) expect(ca.validation[bucket].heldOut).toBe(60);
    expect(ca.weights.warm.some((w) => w !== 1)).toBe(true);
  });

  it('chooses the same weights in this thread and with the searches on a pool of 2', async () => {
    const here = new MigrationRecommender({ ...FAST, threads: 0 });
    await here.fit(train, { valid: split.valid });
    const pooled = new MigrationRecommender({ ...FAST, threads: 2 });
    try {
      await pooled.fit(train, { valid: split.valid });
      expect(pooled.fitReport().choices).toEqual(here.fitReport().choices);
    } finally {
      await pooled.close();
    }
  });

  it('samples at most validationSample validation users', async () => {
    const model = new MigrationRecommender({ ...FAST, validationSample: 40, holdoutUsers: 0 });
    await model.fit(train, { valid: split.valid });
    const c = model.fitReport().choices.music as Choice;
    expect(c.validation.all.users).toBe(40);
    await expect(async () => new MigrationRecommender({ ...FAST, validationSample: -1 })).rejects.toThrow(/validationSample/);
  });
});

describe('fused model: PTUPCDR', () => {
  it('is not fitted without cold validation users, and the report says why', async () => {
    const model = new MigrationRecommender({ ...FAST, components: ['popularity', 'emcdr', 'ptupcdr'], holdoutUsers: 50 });
    await model.fit(train);
    const r = model.fitReport();
    expect((r.choices.music as Choice).components).toEqual(['popularity', 'emcdr']);
    expect(String((r.stats.skippedComponents as Record<string, string>).ptupcdr)).toMatch(/no validation user is cold/);
    expect(r.seconds.ptupcdr).toBeUndefined();
  });
});
