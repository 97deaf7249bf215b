/**
 * The contract suite every model runs, driven by what the model declares in
 * `capabilities`: predictable top-1 on a fixture, batch == single, filters, k beyond the
 * catalogue, save -> load, pool sizes and backends, foldIn, and the typed errors of bad calls; a
 * declared `similarItems` / `similarUsers` / `explain` must deliver (neighbours without the query
 * itself, contributions adding up to the score), an undeclared one must throw NotSupportedError.
 *
 * Every run is registered (`contractRuns()`) under the name of the model it built, so the test
 * file can fail when a model type has no run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPool,
  ModelFormatError,
  NotSupportedError,
  OptionRangeError,
  OptionTypeError,
  Popularity,
  StorageError,
  UnknownIdError,
  type Capabilities,
  type Dataset,
  type KernelPool,
  type ModelOptions,
  type Recommender,
} from '../../src/index.js';

export interface ContractSpec {
  /** Suite title. */
  title: string;
  /** A new model with these base options (add the model's own). */
  make(options: ModelOptions): Recommender;
  /** The model's static load. */
  load(path: string, options?: ModelOptions): Promise<Recommender>;
  /** Training data. */
  data(): Dataset;
  /** Domain to recommend in. */
  domain: string;
  /** Users to check (every one must be known). */
  users: string[];
  /** The item each user must get first. */
  top1?: (user: string) => string;
  /** A new user's events for foldIn, and the item they must then get first. */
  foldIn: { events: Array<{ item: string; domain?: string }>; top1?: string };
  /** For a model with `similarItems`: whether `other` may be among the neighbours of `item` (e.g. same parity). */
  similarItem?: (item: string, other: string) => boolean;
  /** For a model with `similarUsers`: whether `other` may be among the neighbours of `user` (e.g. same parity). */
  similarUser?: (user: string, other: string) => boolean;
}

/** One registered contract run. */
export interface ContractRun {
  title: string;
  /** The model's name (`model.name` of the model the spec builds). */
  model: string;
  /** Whether the run checks a predictable top-1. */
  top1: boolean;
  /** What the model declared. */
  capabilities: Capabilities;
}

const RUNS: ContractRun[] = [];

/** The contract runs registered so far in this test file (registration happens at collection). */
export function contractRuns(): readonly ContractRun[] {
  return RUNS;
}

export function runContractSuite(spec: ContractSpec): void {
  // Built at collection: its name registers the run, its capabilities pick the checks below.
  const model = spec.make({});
  const caps = model.capabilities;
  RUNS.push({ title: spec.title, model: model.name, top1: spec.top1 !== undefined, capabilities: caps });

  describe(`contract: ${spec.title}`, () => {
    let pool1: KernelPool;
    let pool2: KernelPool;
    const dir = mkdtempSync(join(tmpdir(), 'migrec-contract-'));
    const opts = { domain: spec.domain };

    /** The domain's training items, in index order. */
    const trainingItems = (): string[] => {
      const data = spec.data();
      const d = data.vocab.domainIndex(spec.domain);
      return data.vocab.items(d).list().slice(0, data.nItems(d));
    };

    beforeAll(async () => {
      pool1 = createPool({ threads: 1 });
      pool2 = createPool({ threads: 2 });
      await model.fit(spec.data());
    });
    afterAll(async () => {
      await pool1?.close();
      await pool2?.close();
      await model.close();
    });

    if (spec.top1) {
      it('puts the predictable item first', () => {
        for (const u of spec.users) expect(model.recommend(u, { ...opts, k: 3 }).items[0], u).toBe(spec.top1!(u));
      });
    }

    it('recommendBatch equals recommend, user by user; a batch iterates in request order', async () => {
      const batch = await model.recommendBatch(spec.users, { ...opts, k: 5 });
      expect(batch.length).toBe(spec.users.length);
      spec.users.forEach((u, i) => {
        const one = model.recommend(u, { ...opts, k: 5 });
        expect(batch.get(i).items).toEqual(one.items);
        expect(Array.from(batch.get(i).scores)).toEqual(Array.from(one.scores));
      });
      const iterated = [...batch];
      expect(iterated.map((r) => r.user)).toEqual(spec.users);
      iterated.forEach((r, i) => expect(r.items).toEqual(batch.get(i).items));
    });

    it('reports what it is: options, hasUser, fitReport', () => {
      for (const u of spec.users) expect(model.hasUser(u), u).toBe(true);
      expect(model.hasUser('nobody')).toBe(false);
      expect(model.options).not.toHaveProperty('pool');
      const r = model.fitReport();
      expect(r.model).toBe(model.name);
      expect(r.seconds.total).toBeGreaterThanOrEqual(0);
    });

    it('honours filterSeen, exclude and candidates; k beyond the catalogue is fine', () => {
      const data = spec.data();
      const d = data.vocab.domainIndex(spec.domain);
      const all = trainingItems();
      for (const u of spec.users) {
        const ui = data.vocab.users.get(u);
        const m = data.matrix(d);
        const seen = new Set(Array.from(m.indices.subarray(m.indptr[ui], m.indptr[ui + 1]), (i) => all[i]));
        const big = model.recommend(u, { ...opts, k: all.length + 10 });
        expect(big.items.length).toBeLessThanOrEqual(all.length);
        expect(new Set(big.items).size).toBe(big.items.length);
        for (const it of big.items) expect(seen.has(it), `${u} got seen item ${it}`).toBe(false);
        const top = model.recommend(u, { ...opts, k: 2 });
        if (top.items.length > 0) {
          const ex = model.recommend(u, { ...opts, k: 2, exclude: [top.items[0]] });
          expect(ex.items).not.toContain(top.items[0]);
        }
        const cands = all.filter((_, i) => i % 3 === 0);
        const c = model.recommend(u, { ...opts, k: 5, candidates: cands });
        for (const it of c.items) expect(cands).toContain(it);
      }
    });

    it('save -> load gives identical recommendations', async () => {
      const p = join(dir, `${model.name}.migrec`);
      await model.save(p);
      const back = await spec.load(p);
      for (const u of spec.users) {
        const a = model.recommend(u, { ...opts, k: 5 });
        const b = back.recommend(u, { ...opts, k: 5 });
        expect(b.items).toEqual(a.items);
        expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
      }
      expect(back.capabilities).toEqual(caps);
    });

    it('same output on 1 and 2 pool threads and on the wasm and js backends', async () => {
      const ref = await model.recommendBatch(spec.users, { ...opts, k: 5 });
      for (const variant of [{ pool: pool1 }, { pool: pool2 }, { backend: 'js' as const }, { backend: 'wasm' as const, pool: pool2 }]) {
        const m = spec.make(variant);
        await m.fit(spec.data());
        const got = await m.recommendBatch(spec.users, { ...opts, k: 5 });
        spec.users.forEach((_, i) => {
          expect(got.get(i).items).toEqual(ref.get(i).items);
          expect(Array.from(got.get(i).scores)).toEqual(Array.from(ref.get(i).scores));
        });
      }
    });

    it('foldIn changes the next recommendation without refitting', async () => {
      const m = spec.make({});
      await m.fit(spec.data());
      const u = spec.users[0];
      const before = m.recommend(u, { ...opts, k: 1 });
      if (before.items.length > 0) {
        m.foldIn(u, [{ item: before.items[0], domain: spec.domain }]);
        expect(m.recommend(u, { ...opts, k: 5 }).items).not.toContain(before.items[0]);
      }
      expect(() => m.recommend('newcomer', opts)).toThrow(UnknownIdError);
      expect(m.hasUser('newcomer')).toBe(false);
      m.foldIn('newcomer', spec.foldIn.events);
      expect(m.hasUser('newcomer')).toBe(true);
      const r = m.recommend('newcomer', { ...opts, k: 3 });
      if (spec.foldIn.top1) expect(r.items[0]).toBe(spec.foldIn.top1);
      // Folded-in behaviour, of a newcomer and of a known user, is saved with the model and
      // loads to identical recommendations.
      const p = join(dir, `${m.name}-folded.migrec`);
      await m.save(p);
      const back = await spec.load(p);
      for (const who of ['newcomer', ...spec.users]) {
        const a = m.recommend(who, { ...opts, k: 5 });
        const b = back.recommend(who, { ...opts, k: 5 });
        expect(b.items, who).toEqual(a.items);
        expect(Array.from(b.scores), who).toEqual(Array.from(a.scores));
      }
    });

    // ---- capabilities: a declared one delivers, an undeclared one is NotSupported ----------------

    if (caps.explain) {
      it('explain (declared): contributions add up to the score', () => {
        for (const u of spec.users) {
          const r = model.recommend(u, { ...opts, k: 3 });
          for (let t = 0; t < r.items.length; t++) {
            const e = model.explain(u, r.items[t], opts);
            const sum = e.contributions.reduce((s, c) => s + c.weight, 0);
            expect(Math.abs(sum - e.score)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(e.score)));
            expect(Math.abs(e.score - r.scores[t])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(e.score)));
            for (let q = 1; q < e.contributions.length; q++) expect(e.contributions[q - 1].weight).toBeGreaterThanOrEqual(e.contributions[q].weight);
          }
        }
      });
    } else {
      it('explain (not declared): NotSupportedError', () => {
        const item = trainingItems()[0];
        expect(() => model.explain(spec.users[0], item, opts)).toThrow(new NotSupportedError(`${model.name} does not explain its scores`));
      });
    }

    if (caps.similarItems) {
      it('similarItems (declared): a non-empty list of training items of the domain, best first, without the item itself', () => {
        const items = trainingItems();
        const known = new Set(items);
        for (const item of items) {
          const r = model.similarItems(item, { ...opts, k: 5 });
          expect(r.items.length, item).toBeGreaterThan(0);
          expect(r.items.length).toBeLessThanOrEqual(5);
          expect(r.scores.length).toBe(r.items.length);
          expect(r.items, item).not.toContain(item);
          expect(new Set(r.items).size).toBe(r.items.length);
          for (const o of r.items) {
            expect(known.has(o), `${item}: ${o} is not a training item of ${spec.domain}`).toBe(true);
            if (spec.similarItem) expect(spec.similarItem(item, o), `${o} among the neighbours of ${item}`).toBe(true);
          }
          for (let q = 1; q < r.scores.length; q++) expect(r.scores[q - 1]).toBeGreaterThanOrEqual(r.scores[q]);
        }
        expect(() => model.similarItems('no-such-item', opts)).toThrow(UnknownIdError);
      });
    } else {
      it('similarItems (not declared): NotSupportedError', () => {
        const item = trainingItems()[0];
        expect(() => model.similarItems(item, opts)).toThrow(new NotSupportedError(`${model.name} does not provide similarItems`));
      });
    }

    if (caps.similarUsers) {
      it('similarUsers (declared): a non-empty list of training users, best first, without the user itself', () => {
        const data = spec.data();
        for (const u of spec.users) {
          const r = model.similarUsers(u, { ...opts, k: 5 });
          expect(r.users.length, u).toBeGreaterThan(0);
          expect(r.users.length).toBeLessThanOrEqual(5);
          expect(r.scores.length).toBe(r.users.length);
          expect(r.users, u).not.toContain(u);
          expect(new Set(r.users).size).toBe(r.users.length);
          for (const o of r.users) {
            const ui = data.vocab.users.get(o);
            expect(ui >= 0 && ui < data.nUsers, `${u}: ${o} is not a training user`).toBe(true);
            if (spec.similarUser) expect(spec.similarUser(u, o), `${o} among the neighbours of ${u}`).toBe(true);
          }
          for (let q = 1; q < r.scores.length; q++) expect(r.scores[q - 1]).toBeGreaterThanOrEqual(r.scores[q]);
        }
        expect(() => model.similarUsers('nobody', opts)).toThrow(UnknownIdError);
      });
    } else {
      it('similarUsers (not declared): NotSupportedError', () => {
        expect(() => model.similarUsers(spec.users[0], opts)).toThrow(new NotSupportedError(`${model.name} does not provide similarUsers`));
      });
    }

    it('bad calls get typed errors with exact messages', async () => {
      expect(() => model.recommend('nobody', opts)).toThrow(
        'unknown user "nobody": not in the training data (pass fallback: "popularity" to recommend popular items)',
      );
      const fb = model.recommend('nobody', { ...opts, k: 2, fallback: 'popularity' });
      expect(fb.fallback).toBe(true);
      expect(fb.items.length).toBe(2);
      expect(() => model.recommend(spec.users[0], { ...opts, k: 0 })).toThrow(new OptionRangeError('k', 'options.k must be a positive integer (got 0)'));
      expect(() => model.recommend(spec.users[0], { ...opts, k: 2.5 })).toThrow(new OptionRangeError('k', 'options.k must be a positive integer (got 2.5)'));
      expect(() => model.recommend(spec.users[0], { domain: 'nowhere' })).toThrow(UnknownIdError);
      expect(() => model.recommend(spec.users[0], { domain: 'nowhere' })).toThrow('unknown domain "nowhere": it has no training rows');
      expect(() => model.recommend(spec.users[0], { ...opts, exclude: ['no-such-item'] })).toThrow(
        `unknown item "no-such-item": not in the training items of domain "${spec.domain}"`,
      );
      // An unknown id is reported before a missing capability.
      expect(() => model.explain(spec.users[0], 'no-such-item', opts)).toThrow(UnknownIdError);
      // Options of the model itself: an unknown key is a type error, a value out of range a range error.
      expect(() => spec.make({ noSuchOption: 1 } as ModelOptions)).toThrow(OptionTypeError);
      expect(() => spec.make({ noSuchOption: 1 } as ModelOptions)).toThrow(new RegExp(`^unknown option "noSuchOption" for ${model.name} `));
      expect(() => spec.make({ threads: -1 })).toThrow(OptionRangeError);
      await expect(model.save(join(dir, 'missing-dir', 'm.migrec'))).rejects.toThrow(
        `cannot write model file ${join(dir, 'missing-dir', 'm.migrec')}: the directory does not exist`,
      );
      await expect(model.save(join(dir, 'missing-dir', 'm.migrec'))).rejects.toThrow(StorageError);
      const other = spec.make({});
      await expect(other.recommendBatch(spec.users, opts)).rejects.toThrow(`${model.name}: call fit() or load() first`);
      expect(() => other.fitReport()).toThrow(`${model.name}: call fit() or load() first`);
      // A file of another model type.
      const popPath = join(dir, 'pop.migrec');
      const pop = new Popularity();
      await pop.fit(spec.data());
      await pop.save(popPath);
      if (model.name !== 'popularity') {
        await expect(spec.load(popPath)).rejects.toThrow(new ModelFormatError(`${popPath}: holds a popularity model, not ${model.name}`));
      }
    });
  });
}
