import { describe, expect, it } from 'vitest';
import {
  Bridge,
  createPool,
  Emcdr,
  ItemKnn,
  Mf,
  Ptupcdr,
  KernelError,
  loadEvents,
  MigrationRecommender,
  ModelFitError,
  Popularity,
  UserKnn,
} from '../src/index.js';
import { itemKnn } from '../src/pool/index.js';
import { checkerboard, twoDomains } from './helpers/fixtures.js';

describe('options: wrong types and ranges name the option', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['seed', () => new Popularity({ seed: 1.5 }), 'options.seed must be an integer (got 1.5)'],
    ['backend', () => new Popularity({ backend: 'gpu' as never }), 'options.backend must be auto, wasm or js (got "gpu")'],
    ['threads', () => new Popularity({ threads: -1 }), 'options.threads must be a positive integer (got -1)'],
    ['memoryBudget', () => new Popularity({ memoryBudget: 0 }), 'options.memoryBudget must be a positive number of bytes (got 0)'],
    ['neighbors', () => new ItemKnn({ neighbors: 0 }), 'options.neighbors must be a positive integer (got 0)'],
    ['neighbors type', () => new UserKnn({ neighbors: '5' as never }), 'options.neighbors must be a positive integer (got 5)'],
    ['shrink', () => new ItemKnn({ shrink: -1 }), 'options.shrink must be a finite number >= 0 (got -1)'],
    ['weighting', () => new ItemKnn({ weighting: 'idf' as never }), 'options.weighting must be none, tfidf or bm25 (got "idf")'],
    ['B', () => new ItemKnn({ B: 2 }), 'options.B must be a number in [0, 1] (got 2)'],
    ['variant', () => new Bridge({ variant: 'both' as never }), 'options.variant must be auto, user or item (got "both")'],
    ['alpha', () => new Bridge({ alpha: 1.5 }), 'options.alpha must be a number in [0, 1] (got 1.5)'],
    ['exponent', () => new Bridge({ exponent: 0 }), 'options.exponent must be a positive number (got 0)'],
    ['idf', () => new Bridge({ idf: 'yes' as never }), 'options.idf must be a boolean (got string)'],
    ['candidates', () => new MigrationRecommender({ candidates: 0 }), 'options.candidates must be a positive integer (got 0)'],
    ['components', () => new MigrationRecommender({ components: ['magic'] }), 'options.components: unknown component "magic" (known: popularity, itemknn, userknn, bridge-user, bridge-item, emcdr, ptupcdr)'],
    ['bagging', () => new MigrationRecommender({ bagging: 0 }), 'options.bagging must be a positive integer (got 0)'],
    ['pool threads', () => createPool({ threads: 0 }), 'options.threads must be a positive integer (got 0)'],
    ['factors', () => new Mf({ factors: 0 }), 'options.factors must be a positive integer (got 0)'],
    ['regularization', () => new Mf({ regularization: -1 }), 'options.regularization must be a finite number >= 0 (got -1)'],
    ['alpha (mf)', () => new Mf({ alpha: Number.NaN }), 'options.alpha must be a finite number >= 0 (got NaN)'],
    ['mapping', () => new Emcdr({ mapping: 'cubic' as never }), 'options.mapping must be auto, linear or mlp (got "cubic")'],
    ['epochs', () => new Emcdr({ epochs: 1.5 }), 'options.epochs must be a positive integer (got 1.5)'],
    ['rank', () => new Ptupcdr({ rank: 0 }), 'options.rank must be a positive integer (got 0)'],
    ['learningRate', () => new Ptupcdr({ learningRate: 0 }), 'options.learningRate must be a positive number (got 0)'],
    ['ridge (ptupcdr)', () => new Ptupcdr({ ridge: -1 }), 'options.ridge must be a finite number >= 0 (got -1)'],
    ['ridgeGrid (ptupcdr)', () => new Ptupcdr({ ridgeGrid: [] }), 'options.ridgeGrid must not be empty'],
    ['ridgeGrid entry (ptupcdr)', () => new Ptupcdr({ ridgeGrid: [1, Number.POSITIVE_INFINITY] }), 'options.ridgeGrid[] must be a finite number >= 0 (got Infinity)'],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => {
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      expect(err instanceof TypeError || err instanceof RangeError, String(err)).toBe(true);
      expect((err as Error).message).toBe(message);
    });
  }
  it('loader options', async () => {
    await expect(loadEvents('x.csv', { format: 'xml' as never })).rejects.toThrow(new RangeError('options.format must be one of auto, csv, tsv, jsonl (got "xml")'));
    await expect(loadEvents('x.csv', { domainColumn: '' })).rejects.toThrow(new TypeError('options.domainColumn must be a non-empty column name (got "")'));
  });
});

describe('memory budget: tables that would not fit are refused up front', () => {
  it('item kNN, bridge and transfer factors say what they need', async () => {
    const board = checkerboard().data;
    await expect(new ItemKnn({ neighbors: 50, memoryBudget: 1000 }).fit(board)).rejects.toThrow(
      new ModelFitError('itemknn: the neighbour table (40 items x 50 neighbours) needs 21.6 KiB, over the memory budget of 1000 bytes (options.memoryBudget)'),
    );
    const two = twoDomains().data;
    await expect(new Bridge({ variant: 'item', neighbors: 10, memoryBudget: 100 }).fit(two)).rejects.toThrow(
      new ModelFitError('bridge: the cross-domain similarity table (6 source items x 10 neighbours) needs 480 bytes, over the memory budget of 100 bytes (options.memoryBudget)'),
    );
    await expect(new Emcdr({ memoryBudget: 2048 }).fit(two)).rejects.toThrow(
      new ModelFitError('emcdr: the factor matrices (84 rows x 64 factors, with ALS scratch) needs 42.0 KiB, over the memory budget of 2.0 KiB (options.memoryBudget)'),
    );
    // A model that fitted before keeps working after a refused refit.
    const ok = new ItemKnn({ neighbors: 5 });
    await ok.fit(board);
    expect(ok.recommend('u2', { k: 1 }).items).toEqual(['i2']);
  });
});

describe('pool: close() while tasks run settles every promise', () => {
  it('pending tasks reject with KernelError, none hang', async () => {
    const pool = createPool({ threads: 2 });
    const x = checkerboard().data.matrix(0);
    const tasks = Array.from({ length: 6 }, () => itemKnn(pool, x, { k: 5 }));
    const closing = pool.close();
    const settled = await Promise.allSettled(tasks);
    await closing;
    for (const s of settled) {
      if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(KernelError);
    }
    await expect(itemKnn(pool, x, { k: 5 })).rejects.toThrow(new KernelError('the kernel pool is closed'));
  });
});
