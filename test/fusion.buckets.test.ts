/**
 * The fused model routes each user to the weights of its own bucket. A fixture where the two
 * buckets need different components: users cold in the target are served only by the bridge (item
 * kNN has nothing to go on, popularity ties the two groups' anchors), warm users by item kNN
 * (their held-out item completes a pair they have half of, which their source neighbours do not
 * single out). The test fails when every user gets the same bucket's weights (e.g. `warm`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dataset, MigrationRecommender, parseEvents, type Bucket, type EventTable } from '../src/index.js';
import { readModelFile, writeModelFile } from '../src/io/modelfile.js';

const PAIRS = 8;
const MIN_BUCKET_USERS = 10;

/**
 * Two groups (x: even user number, y: odd) with their own source items (sx*, sy*) and their own
 * target anchor (tx, ty, equally popular). Target items also come in pairs (p_j, q_j) that are
 * always taken together, spread evenly over both groups.
 * - w0..w39: training users with source rows, the anchor and three full pairs (warm);
 * - v0..v15: warm validation users: anchor, two full pairs and p_j of a third; validation: q_j;
 * - c0..c15: cold validation users: source rows only; validation: their group's anchor;
 * - test users outside validation: cold-x / cold-y (source rows only), warm-x (like a v user, open
 *   pair 2), sparse-y (source rows and two target rows).
 */
function bucketFixture(): { data: Dataset; valid: EventTable } {
  let text = 'user,item,domain\n';
  let valid = 'user,item,domain\n';
  const add = (u: string, i: string, d: string) => (text += `${u},${i},${d}\n`);
  const group = (g: number) => (g === 0 ? 'x' : 'y');
  const source = (u: string, g: number, n: number) => {
    for (let s = 0; s < 5; s++) if ((s + n) % 5 !== 0) add(u, `s${group(g)}${s}`, 'src');
  };
  const pair = (u: string, j: number) => {
    add(u, `p${j}`, 'tgt');
    add(u, `q${j}`, 'tgt');
  };
  for (let w = 0; w < 40; w++) {
    source(`w${w}`, w % 2, w);
    add(`w${w}`, `t${group(w % 2)}`, 'tgt');
    for (const j of [w % PAIRS, (w + 3) % PAIRS, (w + 5) % PAIRS]) pair(`w${w}`, j);
  }
  for (let v = 0; v < 16; v++) {
    const u = `v${v}`;
    source(u, v % 2, v);
    add(u, `t${group(v % 2)}`, 'tgt');
    pair(u, (v + 1) % PAIRS);
    pair(u, (v + 4) % PAIRS);
    add(u, `p${(v + 6) % PAIRS}`, 'tgt');
    valid += `${u},q${(v + 6) % PAIRS},tgt\n`;
  }
  for (let c = 0; c < 16; c++) {
    source(`c${c}`, c % 2, c);
    valid += `c${c},t${group(c % 2)},tgt\n`;
  }
  source('cold-x', 0, 1);
  source('cold-y', 1, 2);
  source('warm-x', 0, 3);
  add('warm-x', 'tx', 'tgt');
  pair('warm-x', 0);
  pair('warm-x', 5);
  add('warm-x', 'p2', 'tgt');
  source('sparse-y', 1, 4);
  add('sparse-y', 'ty', 'tgt');
  add('sparse-y', 'p3', 'tgt');
  const events = parseEvents(text, { label: 'buckets.csv' });
  return { data: Dataset.fromEvents(events), valid: parseEvents(valid, { vocab: events.vocab, label: 'buckets-valid.csv' }) };
}

interface TargetChoice {
  components: string[];
  weights: Record<Bucket, number[]>;
  validation: Record<string, { users: number; ndcg: number }>;
}

/** Test users and their buckets in the target. */
const TEST_USERS: Array<[string, Bucket]> = [
  ['cold-x', 'cold'],
  ['cold-y', 'cold'],
  ['warm-x', 'warm'],
  ['sparse-y', 'sparse'],
];

describe('fused model: per-bucket weights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrec-buckets-'));
  let model: MigrationRecommender;
  let choice: TargetChoice;
  /** The fitted model with every bucket's weights replaced by those of one bucket. */
  const every = new Map<Bucket, MigrationRecommender>();

  beforeAll(async () => {
    const { data, valid } = bucketFixture();
    model = new MigrationRecommender({ target: 'tgt', components: ['popularity', 'itemknn', 'bridge-user'], minBucketUsers: MIN_BUCKET_USERS, bagging: 1 });
    await model.fit(data, { valid });
    choice = model.fitReport().choices.tgt as TargetChoice;
    const path = join(dir, 'fused.migrec');
    await model.save(path);
    const content = await readModelFile(path);
    const saved = content.meta.model as Record<string, unknown>;
    for (const b of ['cold', 'sparse', 'warm'] as const) {
      const fusion = (saved.fusion as Array<Record<string, unknown> | null>).map((f) =>
        f ? { ...f, weights: { cold: choice.weights[b], 'cold-nosrc': choice.weights[b], sparse: choice.weights[b], warm: choice.weights[b] } } : f,
      );
      const p = join(dir, `every-${b}.migrec`);
      await writeModelFile(p, { ...content, meta: { ...content.meta, model: { ...saved, fusion } } });
      every.set(b, await MigrationRecommender.load(p));
    }
  });
  afterAll(async () => {
    await Promise.all([model?.close(), ...[...every.values()].map((m) => m.close())]);
  });

  it('cold and warm validation users get weights of their own, and they differ', () => {
    expect(choice.components).toEqual(['popularity', 'itemknn', 'bridge-user']);
    const itemknn = 1;
    const bridge = 2;
    for (const b of ['cold', 'warm'] as const) {
      expect(choice.validation[b].users, b).toBe(16);
      expect(choice.validation[b].ndcg, b).toBe(1);
    }
    // Cold: the bridge carries the ranking (item kNN has no candidates for these users).
    expect(choice.weights.cold[bridge]).toBeGreaterThan(0);
    expect(choice.weights.cold[bridge]).toBe(Math.max(...choice.weights.cold));
    // Warm: item kNN leads, and the bridge counts for less.
    expect(choice.weights.warm[itemknn]).toBe(Math.max(...choice.weights.warm));
    expect(choice.weights.warm[bridge]).toBeLessThan(choice.weights.warm[itemknn]);
    expect(choice.weights.cold).not.toEqual(choice.weights.warm);
    // No sparse validation user: that bucket falls back to the weights fitted on all users.
    expect(choice.validation.sparse).toBeUndefined();
  });

  it("each test user gets what its group's data predicts", () => {
    expect(model.recommend('cold-x', { k: 3 }).items[0]).toBe('tx');
    expect(model.recommend('cold-y', { k: 3 }).items[0]).toBe('ty');
    // warm-x has p2 without q2: item kNN completes the pair.
    expect(model.recommend('warm-x', { k: 3 }).items[0]).toBe('q2');
  });

  it("each user's list is the one its own bucket's weights give, not another bucket's", () => {
    for (const [u, b] of TEST_USERS) {
      const got = model.recommend(u, { k: 5 });
      const own = every.get(b)!.recommend(u, { k: 5 });
      expect(got.items, `${u} (${b})`).toEqual(own.items);
      expect(Array.from(got.scores), `${u} (${b})`).toEqual(Array.from(own.scores));
    }
    // With the warm weights a cold user gets no bridge candidates (here: nothing at all, or
    // something else), and with the cold weights the warm user loses its pair completion.
    for (const u of ['cold-x', 'cold-y']) expect(every.get('warm')!.recommend(u, { k: 5 }).items, u).not.toEqual(model.recommend(u, { k: 5 }).items);
    expect(every.get('cold')!.recommend('warm-x', { k: 5 }).items).not.toEqual(model.recommend('warm-x', { k: 5 }).items);
    expect(every.get('cold')!.recommend('warm-x', { k: 5 }).items[0]).not.toBe('q2');
  });

  it('recommendBatch mixes buckets in one batch and still routes each user to its own weights', async () => {
    const users = TEST_USERS.map(([u]) => u);
    const batch = await model.recommendBatch(users, { k: 5 });
    users.forEach((u, i) => expect(batch.get(i).items, u).toEqual(model.recommend(u, { k: 5 }).items));
  });

  it("explain uses the user's bucket too: the score matches the recommendation", () => {
    for (const [u] of TEST_USERS) {
      const r = model.recommend(u, { k: 3 });
      r.items.forEach((item, q) => expect(model.explain(u, item).score, `${u} ${item}`).toBeCloseTo(r.scores[q], 5));
    }
  });

  it('folding target behaviour into a cold user moves it to the sparse bucket', async () => {
    const fresh = await MigrationRecommender.load(join(dir, 'fused.migrec'));
    const sparse = every.get('sparse')!;
    const before = fresh.recommend('cold-x', { k: 5 });
    for (const m of [fresh, sparse]) m.foldIn('cold-x', [{ item: 'p4' }]);
    const after = fresh.recommend('cold-x', { k: 5 });
    expect(after.items).not.toEqual(before.items);
    expect(after.items).toEqual(sparse.recommend('cold-x', { k: 5 }).items);
    expect(Array.from(after.scores)).toEqual(Array.from(sparse.recommend('cold-x', { k: 5 }).scores));
    await fresh.close();
  });
});
