// Option schemas: validation messages and classes, defaults, freezing, CLI text parsing, help,
// names, and the model schemas themselves (every model resolves {}, one meaning per name).
import { describe, expect, it } from 'vitest';
import { isMigrecError, isOptionError, OptionRangeError, OptionTypeError, UsageError } from '../src/errors.js';
import {
  COMMON_OPTIONS,
  componentSchema,
  formatOptionsHelp,
  FUSION_COMPONENTS,
  kebab,
  MODEL_SCHEMAS,
  modelSchema,
  nearestName,
  parseOptionText,
  RENAMED_OPTIONS,
  resolveOptions,
  type OptionSpec,
  type Schema,
} from '../src/options/index.js';

/** The error `f` throws (fails the test when it throws none). */
function thrown(f: () => unknown): Error & { option?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { option?: string };
  }
  throw new Error('expected an error');
}

const itemknn = MODEL_SCHEMAS.itemknn;
const resolve = (given: unknown, model = 'itemknn', schema: Schema = itemknn) => resolveOptions(model, schema, given);

/** A small schema with one option of every kind. */
const ALL: Schema = {
  count: { kind: 'integer', min: 1, default: 5, doc: 'A count' },
  level: { kind: 'integer', min: 0, doc: 'A level' },
  rate: { kind: 'number', min: 0, minExclusive: true, doc: 'A rate' },
  share: { kind: 'number', min: 0, max: 1, doc: 'A share' },
  any: { kind: 'number', doc: 'Any finite number' },
  big: { kind: 'number', min: 0, max: Infinity, doc: 'A number that may be infinite' },
  flag: { kind: 'boolean', doc: 'A flag' },
  label: { kind: 'string', nonEmpty: true, doc: 'A label' },
  mode: { kind: 'enum', values: ['a', 'b'], default: 'a', doc: 'A mode' },
  sizes: { kind: 'integers', min: 1, nonEmpty: true, doc: 'Sizes' },
  weights: { kind: 'numbers', min: 0, default: [1, 2], doc: 'Weights' },
  names: { kind: 'strings', doc: 'Names' },
  handle: { kind: 'object', doc: 'Anything' },
  nested: { kind: 'object', doc: 'Nested', keys: { weight: { kind: 'number', min: 0, required: true, doc: 'W' }, rounds: { kind: 'integer', min: 1, default: 4, doc: 'R' } } },
};

describe('errors', () => {
  it('OptionTypeError and OptionRangeError: TypeError / RangeError subclasses with code, name and option; isOptionError also on plain copies', () => {
    const t = new OptionTypeError('coupling.weight', 'm');
    const r = new OptionRangeError('neighbors', 'm');
    expect(t).toBeInstanceOf(TypeError);
    expect(r).toBeInstanceOf(RangeError);
    expect([t.name, t.code, t.option, r.name, r.code, r.option]).toEqual(['OptionTypeError', 'OPTION', 'coupling.weight', 'OptionRangeError', 'OPTION', 'neighbors']);
    expect(isOptionError(t) && isOptionError(r)).toBe(true);
    // What a worker boundary leaves of an error: name, code and message.
    expect(isOptionError({ name: 'OptionRangeError', code: 'OPTION', message: 'm' })).toBe(true);
    expect(isOptionError({ name: 'RangeError', code: 'OPTION' })).toBe(false);
    expect(isOptionError(new UsageError('x'))).toBe(false);
    expect(isOptionError(null)).toBe(false);
    expect(isMigrecError(new UsageError('x'))).toBe(true);
  });
});

describe('resolveOptions', () => {
  it('unknown key: OptionTypeError naming the key and the nearest name', () => {
    const e = thrown(() => resolve({ neighbours: 5 }));
    expect(e).toBeInstanceOf(OptionTypeError);
    expect(e).toBeInstanceOf(TypeError);
    expect(e.option).toBe('neighbours');
    expect(e.message).toBe('unknown option "neighbours" for itemknn (did you mean "neighbors"?)');
    // Case is ignored when looking for the nearest name.
    expect(thrown(() => resolve({ bm25k1: 1 })).message).toBe('unknown option "bm25k1" for itemknn (did you mean "bm25K1"?)');
  });

  it('unknown key with no near name: the valid names are listed', () => {
    const e = thrown(() => resolve({ zzzzzzzz: 1 }, 'userknn', MODEL_SCHEMAS.userknn));
    expect(e).toBeInstanceOf(OptionTypeError);
    expect(e.message).toBe('unknown option "zzzzzzzz" for userknn (options: neighbors, shrink, targets, seed, pool, threads, backend, memoryBudget, domain)');
    expect(e.option).toBe('zzzzzzzz');
  });

  it('wrong type: OptionTypeError', () => {
    const e = thrown(() => resolve({ neighbors: '50' }));
    expect(e).toBeInstanceOf(OptionTypeError);
    expect(e.message).toBe('options.neighbors must be a positive integer (got "50")');
    expect(e.option).toBe('neighbors');
    expect(thrown(() => resolve({ weighting: 3 })).message).toBe('options.weighting must be one of none, tfidf, bm25 (got 3)');
    expect(thrown(() => resolve({ flag: 'yes' }, 'm', ALL))).toBeInstanceOf(OptionTypeError);
    expect(thrown(() => resolve({ flag: 'yes' }, 'm', ALL)).message).toBe('options.flag must be a boolean (got "yes")');
    expect(thrown(() => resolve({ sizes: 3 }, 'm', ALL)).message).toBe('options.sizes must be a non-empty list of positive integers (got 3)');
    expect(thrown(() => resolve({ handle: 3 }, 'm', ALL)).message).toBe('options.handle must be an object (got 3)');
    expect(thrown(() => resolve({ nested: [1] }, 'm', ALL)).message).toBe('options.nested must be an object (got [1])');
    expect(thrown(() => resolve({ names: ['a', 2] }, 'm', ALL))).toBeInstanceOf(OptionTypeError);
  });

  it('out of range, NaN, Infinity, non-integer: OptionRangeError', () => {
    const cases: Array<[unknown, string]> = [
      [{ neighbors: 0 }, 'options.neighbors must be a positive integer (got 0)'],
      [{ neighbors: 2.5 }, 'options.neighbors must be a positive integer (got 2.5)'],
      [{ neighbors: NaN }, 'options.neighbors must be a positive integer (got NaN)'],
      [{ shrink: -1 }, 'options.shrink must be a number >= 0 (got -1)'],
      [{ shrink: NaN }, 'options.shrink must be a number >= 0 (got NaN)'],
      [{ shrink: Infinity }, 'options.shrink must be a number >= 0 (got Infinity)'],
      [{ bm25K1: 0 }, 'options.bm25K1 must be a positive number (got 0)'],
      [{ bm25B: 1.5 }, 'options.bm25B must be a number in [0, 1] (got 1.5)'],
    ];
    for (const [given, message] of cases) {
      const e = thrown(() => resolve(given));
      expect(e).toBeInstanceOf(OptionRangeError);
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe(message);
      expect(e.option).toBe(Object.keys(given as object)[0]);
    }
    expect(thrown(() => resolve({ level: -1 }, 'm', ALL)).message).toBe('options.level must be an integer >= 0 (got -1)');
    expect(thrown(() => resolve({ any: -Infinity }, 'm', ALL)).message).toBe('options.any must be a finite number (got -Infinity)');
    expect(thrown(() => resolve({ big: NaN }, 'm', ALL)).message).toBe('options.big must be a number >= 0 (got NaN)');
    expect(resolve({ big: Infinity, any: -3.5 }, 'm', ALL)).toMatchObject({ big: Infinity, any: -3.5 });
    expect(thrown(() => resolve({ label: '' }, 'm', ALL)).message).toBe('options.label must be a non-empty string (got "")');
  });

  it('enum: a value not allowed is an OptionRangeError listing the values', () => {
    const e = thrown(() => resolve({ weighting: 'x' }));
    expect(e).toBeInstanceOf(OptionRangeError);
    expect(e.message).toBe('options.weighting must be one of none, tfidf, bm25 (got "x")');
  });

  it('lists: an empty list where one is required, and a bad element', () => {
    const empty = thrown(() => resolveOptions('emcdr', MODEL_SCHEMAS.emcdr, { ridgeGrid: [] }));
    expect(empty).toBeInstanceOf(OptionRangeError);
    expect(empty.message).toBe('options.ridgeGrid must be a non-empty list of numbers >= 0 (got [])');
    expect(empty.option).toBe('ridgeGrid');
    const element = thrown(() => resolveOptions('bridge', MODEL_SCHEMAS.bridge, { neighborGrid: [25, 0] }));
    expect(element).toBeInstanceOf(OptionRangeError);
    expect(element.message).toBe('options.neighborGrid[1] must be a positive integer (got 0)');
    expect(element.option).toBe('neighborGrid');
    expect(thrown(() => resolveOptions('bridge', MODEL_SCHEMAS.bridge, { sources: [] })).message).toBe('options.sources must be a non-empty list of non-empty strings (got [])');
  });

  it('nested objects: unknown key, out of range, missing required key', () => {
    const emcdr = MODEL_SCHEMAS.emcdr;
    const unknown = thrown(() => resolveOptions('emcdr', emcdr, { coupling: { weight: 1, wieght: 2 } }));
    expect(unknown).toBeInstanceOf(OptionTypeError);
    expect(unknown.option).toBe('coupling.wieght');
    expect(unknown.message).toBe('unknown option "coupling.wieght" for emcdr (did you mean "coupling.weight"?)');
    const far = thrown(() => resolveOptions('emcdr', emcdr, { coupling: { weight: 1, zzzzzz: 2 } }));
    expect(far.message).toBe('unknown option "coupling.zzzzzz" for emcdr (options: coupling.weight, coupling.rounds, coupling.ridge)');
    const range = thrown(() => resolveOptions('emcdr', emcdr, { coupling: { weight: 1, rounds: 0 } }));
    expect(range).toBeInstanceOf(OptionRangeError);
    expect(range.option).toBe('coupling.rounds');
    expect(range.message).toBe('options.coupling.rounds must be a positive integer (got 0)');
    const missing = thrown(() => resolveOptions('ptupcdr', MODEL_SCHEMAS.ptupcdr, { coupling: { rounds: 2 } }));
    expect(missing).toBeInstanceOf(OptionTypeError);
    expect(missing.option).toBe('coupling.weight');
    expect(missing.message).toBe('options.coupling.weight is required (a number >= 0)');
    expect(thrown(() => resolveOptions('emcdr', emcdr, { coupling: 1 })).message).toBe('options.coupling must be an object (got 1)');
    // With a path, the messages carry it.
    expect(thrown(() => resolveOptions('migrec', componentSchema('itemknn'), { neighbors: 0 }, 'components.itemknn')).message).toBe(
      'options.components.itemknn.neighbors must be a positive integer (got 0)',
    );
  });

  it('options must be a plain object; undefined counts as {}', () => {
    for (const bad of [null, 5, 'x', [1], new Map()]) {
      const e = thrown(() => resolve(bad));
      expect(e).toBeInstanceOf(OptionTypeError);
      expect(e.message).toBe('options must be an object');
    }
    expect(resolve(undefined)).toEqual(resolve({}));
    expect(resolve(Object.assign(Object.create(null), { neighbors: 3 })).neighbors).toBe(3);
  });

  it('defaults are applied for absent and undefined keys; given values are kept; no default means no key', () => {
    const r = resolve({ neighbors: 20, shrink: undefined });
    expect(r).toEqual({ neighbors: 20, shrink: 0, weighting: 'none', bm25K1: 1.2, bm25B: 0.75, seed: 0, backend: 'auto' });
    expect('memoryBudget' in r).toBe(false);
    const b = resolveOptions('bridge', MODEL_SCHEMAS.bridge, {});
    expect(b).toEqual({ variant: 'auto', seed: 0, backend: 'auto' });
    // Nested defaults: objects with keys and a default are resolved.
    const m = resolveOptions('migrec', MODEL_SCHEMAS.migrec, { longTail: { boost: 0.5 } });
    expect(m.longTail).toEqual({ percentile: 0.8, boost: 0.5 });
    expect(resolveOptions('migrec', MODEL_SCHEMAS.migrec, {}).longTail).toEqual({ percentile: 0.8, boost: 0 });
    expect(resolveOptions('mf', MODEL_SCHEMAS.mf, { encoder: { hidden: 8 } }).encoder).toEqual({ minInteractions: 5, hidden: 8, epochs: 300, learningRate: 0.005, l2: 0.0001 });
    expect(resolveOptions('emcdr', MODEL_SCHEMAS.emcdr, { coupling: { weight: 1 } }).coupling).toEqual({ weight: 1, rounds: 4, ridge: 100 });
    expect('coupling' in resolveOptions('emcdr', MODEL_SCHEMAS.emcdr, {})).toBe(false);
  });

  it('the result is a new frozen object; lists are frozen copies; nested objects frozen', () => {
    const grid = [1, 10];
    const given = { ridgeGrid: grid, coupling: { weight: 2 } };
    const r = resolveOptions('emcdr', MODEL_SCHEMAS.emcdr, given);
    expect(r).not.toBe(given);
    expect(Object.isFrozen(r)).toBe(true);
    expect(r.ridgeGrid).not.toBe(grid);
    expect(r.ridgeGrid).toEqual([1, 10]);
    expect(Object.isFrozen(r.ridgeGrid)).toBe(true);
    expect(Object.isFrozen(r.coupling)).toBe(true);
    grid.push(100);
    expect(r.ridgeGrid).toEqual([1, 10]);
    // Default lists too: a copy, so that nobody can change the schema's default.
    const d = resolveOptions('emcdr', MODEL_SCHEMAS.emcdr, {});
    expect(d.ridgeGrid).toEqual([1, 10, 100, 1000]);
    expect(d.ridgeGrid).not.toBe(MODEL_SCHEMAS.emcdr.ridgeGrid.default);
    expect(Object.isFrozen(d.ridgeGrid)).toBe(true);
  });

  it('objects without keys pass through by reference, unless the spec says copy (plain data)', () => {
    const pool = { close: async () => {} };
    const features = { items: ['a'], width: 1, values: [1] };
    const components = { itemknn: { neighbors: 5 }, userknn: false };
    expect(resolveOptions('mf', MODEL_SCHEMAS.mf, { pool, itemFeatures: features }).pool).toBe(pool);
    expect(resolveOptions('mf', MODEL_SCHEMAS.mf, { pool, itemFeatures: features }).itemFeatures).toBe(features);
    expect(Object.isFrozen(features)).toBe(false);
    const copied = resolveOptions('migrec', MODEL_SCHEMAS.migrec, { components }).components as typeof components;
    expect(copied).not.toBe(components);
    expect(copied).toEqual(components);
    expect(Object.isFrozen(copied) && Object.isFrozen(copied.itemknn)).toBe(true);
    expect(Object.isFrozen(components)).toBe(false);
  });
});

describe('parseOptionText', () => {
  const spec = (name: string): OptionSpec => ALL[name];
  const bad = (s: OptionSpec, text: string, flag: string): Error => {
    const e = thrown(() => parseOptionText(s, text, flag));
    expect(e).toBeInstanceOf(UsageError);
    return e;
  };

  it('integers and numbers', () => {
    expect(parseOptionText(itemknn.neighbors, '20', '--neighbors')).toBe(20);
    expect(parseOptionText(itemknn.neighbors, ' 7 ', '--neighbors')).toBe(7);
    expect(bad(itemknn.neighbors, 'x', '--neighbors').message).toBe('--neighbors must be a positive integer (got "x")');
    expect(bad(itemknn.neighbors, '0', '--neighbors').message).toBe('--neighbors must be a positive integer (got "0")');
    expect(bad(itemknn.neighbors, '2.5', '--neighbors').message).toBe('--neighbors must be a positive integer (got "2.5")');
    expect(bad(itemknn.neighbors, '', '--neighbors').message).toBe('--neighbors must be a positive integer (got "")');
    expect(parseOptionText(itemknn.bm25K1, '0.5', '--bm25-k1')).toBe(0.5);
    expect(parseOptionText(itemknn.bm25K1, '1e-3', '--bm25-k1')).toBe(0.001);
    expect(bad(itemknn.bm25K1, '0', '--bm25-k1').message).toBe('--bm25-k1 must be a positive number (got "0")');
    expect(bad(itemknn.bm25K1, 'NaN', '--bm25-k1').message).toBe('--bm25-k1 must be a positive number (got "NaN")');
    expect(bad(itemknn.bm25K1, '0x10', '--bm25-k1')).toBeInstanceOf(UsageError);
    expect(bad(itemknn.bm25B, '2', '--bm25-b').message).toBe('--bm25-b must be a number in [0, 1] (got "2")');
    expect(parseOptionText(spec('big'), 'inf', '--big')).toBe(Infinity);
    expect(bad(spec('any'), 'Infinity', '--any').message).toBe('--any must be a finite number (got "Infinity")');
    expect(parseOptionText(spec('any'), '-2', '--any')).toBe(-2);
  });

  it('booleans, strings and enums', () => {
    expect(parseOptionText(spec('flag'), 'true', '--flag')).toBe(true);
    expect(parseOptionText(spec('flag'), 'FALSE', '--flag')).toBe(false);
    expect(bad(spec('flag'), 'yes', '--flag').message).toBe('--flag must be true or false (got "yes")');
    expect(parseOptionText(spec('label'), 'books', '--label')).toBe('books');
    expect(bad(spec('label'), '', '--label').message).toBe('--label must be a non-empty string (got "")');
    expect(parseOptionText(itemknn.weighting, 'bm25', '--weighting')).toBe('bm25');
    expect(bad(itemknn.weighting, 'x', '--weighting').message).toBe('--weighting must be one of none, tfidf, bm25 (got "x")');
  });

  it('lists, comma-separated', () => {
    expect(parseOptionText(spec('sizes'), '25,50, 100', '--sizes')).toEqual([25, 50, 100]);
    expect(bad(spec('sizes'), '25,x', '--sizes').message).toBe('--sizes must be a comma-separated non-empty list of positive integers (got "25,x")');
    expect(bad(spec('sizes'), '', '--sizes').message).toBe('--sizes must be a comma-separated non-empty list of positive integers (got "")');
    expect(bad(spec('sizes'), '25,,50', '--sizes')).toBeInstanceOf(UsageError);
    expect(parseOptionText(spec('weights'), '0.5,2', '--weights')).toEqual([0.5, 2]);
    expect(parseOptionText(spec('weights'), '', '--weights')).toEqual([]);
    expect(bad(spec('weights'), '-1', '--weights').message).toBe('--weights must be a comma-separated list of numbers >= 0 (got "-1")');
    expect(parseOptionText(spec('names'), 'books,music', '--names')).toEqual(['books', 'music']);
    expect(bad(spec('names'), 'books,', '--names')).toBeInstanceOf(UsageError);
  });

  it('objects as JSON, nested keys validated', () => {
    expect(parseOptionText(spec('handle'), '{"a":1}', '--handle')).toEqual({ a: 1 });
    expect(bad(spec('handle'), '{a:1}', '--handle').message).toBe('--handle must be a JSON object (got "{a:1}")');
    expect(bad(spec('handle'), '3', '--handle')).toBeInstanceOf(UsageError);
    expect(parseOptionText(spec('nested'), '{"weight":1}', '--nested')).toEqual({ weight: 1, rounds: 4 });
    expect(bad(spec('nested'), '{"weight":-1}', '--nested').message).toBe('--nested: options.weight must be a number >= 0 (got -1)');
  });
});

describe('names', () => {
  it('kebab', () => {
    expect(kebab('bm25K1')).toBe('bm25-k1');
    expect(kebab('bm25B')).toBe('bm25-b');
    expect(kebab('learningRate')).toBe('learning-rate');
    expect(kebab('cgSteps')).toBe('cg-steps');
    expect(kebab('memoryBudget')).toBe('memory-budget');
    expect(kebab('itemNeighborGrid')).toBe('item-neighbor-grid');
    expect(kebab('candidatesPerComponent')).toBe('candidates-per-component');
    expect(kebab('seed')).toBe('seed');
    expect(kebab('parseURLText')).toBe('parse-url-text');
  });

  it('nearestName: edit distance within max(2, len/3), ties to the first candidate', () => {
    expect(nearestName('neighbours', ['shrink', 'neighbors'])).toBe('neighbors');
    expect(nearestName('nieghbors', ['neighbors'])).toBe('neighbors');
    expect(nearestName('seeed', ['seed', 'speed'])).toBe('seed');
    expect(nearestName('ab', ['cd'])).toBe('cd'); // 2 edits: within the floor of 2
    expect(nearestName('abc', ['xyz'])).toBeUndefined();
    expect(nearestName('bat', ['cat', 'hat'])).toBe('cat');
    expect(nearestName('bat', ['hat', 'cat'])).toBe('hat');
    expect(nearestName('LEARNINGRATE', ['learningRate'])).toBe('learningRate');
    // 12 letters: up to 4 edits.
    expect(nearestName('learningrrrrrr', ['learningRate'])).toBeUndefined();
    expect(nearestName('lerningRat', ['learningRate'])).toBe('learningRate');
    expect(nearestName('x', [])).toBeUndefined();
  });
});

describe('formatOptionsHelp', () => {
  it('one aligned line per CLI option, with the default', () => {
    const help = formatOptionsHelp(itemknn);
    const lines = help.split('\n');
    // The longest flag is "--weighting none|tfidf|bm25" (27 characters): docs start 2 after it.
    expect(lines[0]).toBe(`  ${'--neighbors N'.padEnd(29)}Neighbours kept per item (default 50)`);
    expect(lines).toContain(`  --weighting none|tfidf|bm25  Weighting before similarity: none (cosine), tfidf (cosine on TF-IDF), bm25 (dot product on BM25, as implicit) (default none)`);
    expect(lines).toContain(`  ${'--bm25-k1 X'.padEnd(29)}BM25 saturation of large weights (weighting bm25) (default 1.2)`);
    expect(lines).toContain(`  ${'--memory-budget X'.padEnd(29)}Largest model tables fit may build, in bytes; inputs that need more are refused before any work (default no limit)`);
    // Options with cli: false (pool, threads, backend, domain) are not flags.
    expect(lines.map((l) => l.trim().split(' ')[0])).toEqual(['--neighbors', '--shrink', '--weighting', '--bm25-k1', '--bm25-b', '--seed', '--memory-budget']);
    // At least 22 columns for the flags, as in the rest of the CLI help.
    expect(formatOptionsHelp(MODEL_SCHEMAS.userknn).split('\n')[0]).toBe(`  ${'--neighbors N'.padEnd(22)}Neighbours kept per user (the most similar users) (default 50)`);
    expect(formatOptionsHelp(MODEL_SCHEMAS.emcdr, '    ')).toContain('    --mlp-hidden N');
    expect(formatOptionsHelp(MODEL_SCHEMAS.emcdr)).toContain('(default 2 x factors)');
    expect(formatOptionsHelp(MODEL_SCHEMAS.emcdr)).toContain('--ridge-grid X,...');
    expect(formatOptionsHelp(MODEL_SCHEMAS.emcdr)).toContain('(default 1,10,100,1000)');
    expect(formatOptionsHelp(MODEL_SCHEMAS.emcdr)).not.toContain('--coupling');
    expect(formatOptionsHelp({})).toBe('');
  });
});

describe('model schemas', () => {
  const names = ['popularity', 'random', 'itemknn', 'userknn', 'bridge', 'mf', 'emcdr', 'ptupcdr', 'migrec'];

  it('every model, in order; each has the common options (the same specs)', () => {
    expect(Object.keys(MODEL_SCHEMAS)).toEqual(names);
    for (const m of names) for (const [k, spec] of Object.entries(COMMON_OPTIONS)) expect(MODEL_SCHEMAS[m][k]).toBe(spec);
    expect(Object.keys(COMMON_OPTIONS)).toEqual(['seed', 'pool', 'threads', 'backend', 'memoryBudget', 'domain']);
    expect(Object.isFrozen(MODEL_SCHEMAS) && Object.isFrozen(MODEL_SCHEMAS.emcdr) && Object.isFrozen(MODEL_SCHEMAS.emcdr.coupling)).toBe(true);
  });

  it('every model resolves {} and rejects { bogus: 1 } naming "bogus"', () => {
    for (const m of names) {
      expect(() => resolveOptions(m, MODEL_SCHEMAS[m], {})).not.toThrow();
      const e = thrown(() => resolveOptions(m, MODEL_SCHEMAS[m], { bogus: 1 }));
      expect(e).toBeInstanceOf(OptionTypeError);
      expect(e.option).toBe('bogus');
      expect(e.message).toContain(`unknown option "bogus" for ${m}`);
    }
  });

  it('every literal default passes its own spec; docs are one line; every spec has a doc', () => {
    const check = (model: string, schema: Schema) => {
      for (const [k, spec] of Object.entries(schema)) {
        expect(spec.doc.length, `${model}.${k}`).toBeGreaterThan(0);
        expect(spec.doc.includes('\n'), `${model}.${k}`).toBe(false);
        if (spec.default !== undefined) expect(() => resolveOptions(model, { [k]: spec }, { [k]: spec.default }), `${model}.${k}`).not.toThrow();
        if (spec.keys) check(model, spec.keys);
      }
    };
    for (const m of names) check(m, MODEL_SCHEMAS[m]);
  });

  it('defaults of the model code', () => {
    const d = (m: string) => resolveOptions(m, MODEL_SCHEMAS[m], {});
    expect(d('itemknn')).toMatchObject({ neighbors: 50, shrink: 0, weighting: 'none', bm25K1: 1.2, bm25B: 0.75 });
    expect(d('userknn')).toMatchObject({ neighbors: 50, shrink: 0 });
    expect(d('mf')).toMatchObject({ factors: 64, iterations: 12, regularization: 0.05, alpha: 40, cgSteps: 3, patience: 2 });
    expect(d('emcdr')).toMatchObject({ mapping: 'auto', ridge: 10, ridgeGrid: [1, 10, 100, 1000], epochs: 60, learningRate: 0.003, batchSize: 256 });
    expect(d('ptupcdr')).toMatchObject({ rank: 8, metaHidden: 64, attentionHidden: 32, maxHistory: 50, epochs: 40, learningRate: 0.002, batchSize: 128, negatives: 2048, l2: 0.0001 });
    expect(d('migrec')).toMatchObject({ candidatesPerComponent: 100, minBucketUsers: 30, bagging: 8 });
    // Chosen by the model (validation data or derived): no default key.
    for (const [m, k] of [['bridge', 'neighbors'], ['bridge', 'shrink'], ['bridge', 'exponent'], ['bridge', 'idf'], ['bridge', 'asymmetry'], ['emcdr', 'mlpHidden'], ['ptupcdr', 'ridge']]) {
      expect(k in d(m), `${m}.${k}`).toBe(false);
      expect(MODEL_SCHEMAS[m][k].defaultText, `${m}.${k}`).toBeTruthy();
    }
    expect(MODEL_SCHEMAS.ptupcdr.ridge.defaultText).toBe('chosen from ridgeGrid on validation data, else 100');
    expect(MODEL_SCHEMAS.emcdr.mlpHidden.defaultText).toBe('2 x factors');
  });

  it('one meaning per name: alpha only as the ALS confidence (mf, emcdr, ptupcdr); renamed options gone', () => {
    const holders = (name: string) => names.filter((m) => name in MODEL_SCHEMAS[m]);
    expect(holders('alpha')).toEqual(['mf', 'emcdr', 'ptupcdr']);
    expect(new Set(holders('alpha').map((m) => MODEL_SCHEMAS[m].alpha)).size).toBe(1);
    expect(MODEL_SCHEMAS.mf.alpha.default).toBe(40);
    expect(holders('asymmetry')).toEqual(['bridge']);
    for (const old of ['K1', 'B', 'hidden', 'candidates']) expect(holders(old), old).toEqual([]);
    for (const [m, renames] of Object.entries(RENAMED_OPTIONS)) for (const [old, now] of Object.entries(renames)) {
      expect(old in MODEL_SCHEMAS[m], `${m}.${old}`).toBe(false);
      expect(now in MODEL_SCHEMAS[m], `${m}.${now}`).toBe(true);
    }
    // The factor options are one spec each in every model that has them.
    for (const k of ['factors', 'iterations', 'regularization', 'alpha', 'cgSteps']) expect(new Set(holders(k).map((m) => MODEL_SCHEMAS[m][k])).size).toBe(1);
    for (const k of ['sources', 'targets']) expect(new Set(holders(k).map((m) => MODEL_SCHEMAS[m][k])).size).toBe(1);
    expect(MODEL_SCHEMAS.emcdr.coupling).toBe(MODEL_SCHEMAS.ptupcdr.coupling);
    // batchSize: the training mini-batch size in both models that have it.
    expect(holders('batchSize')).toEqual(['emcdr', 'ptupcdr']);
    for (const m of holders('batchSize')) expect(MODEL_SCHEMAS[m].batchSize.doc).toMatch(/^Training mini-batch size/);
    // Otherwise a name shared by several models has one doc, except where the doc names the model's own part.
    const ownPart = new Set(['neighbors', 'ridge', 'epochs', 'learningRate', 'batchSize']);
    const all = new Set(names.flatMap((m) => Object.keys(MODEL_SCHEMAS[m])));
    for (const k of all) if (!ownPart.has(k)) expect(new Set(holders(k).map((m) => MODEL_SCHEMAS[m][k].doc)).size, k).toBe(1);
  });

  it('CLI flags: every option but objects and the ones the CLI owns; memoryBudget is --memory-budget', () => {
    const cli = (m: string) => Object.entries(MODEL_SCHEMAS[m]).filter(([, s]) => s.cli ?? s.kind !== 'object').map(([k]) => k);
    expect(cli('popularity')).toEqual(['seed', 'memoryBudget']);
    expect(cli('migrec')).toEqual(['candidatesPerComponent', 'minBucketUsers', 'bagging', 'validationSample', 'holdoutUsers', 'seed', 'memoryBudget']);
    expect(cli('bridge')).not.toContain('sources');
    expect(formatOptionsHelp(MODEL_SCHEMAS.random)).toContain('--memory-budget X');
  });

  it('modelSchema: by name; UsageError for an unknown name', () => {
    expect(modelSchema('bridge')).toBe(MODEL_SCHEMAS.bridge);
    const near = thrown(() => modelSchema('itemkn'));
    expect(near).toBeInstanceOf(UsageError);
    expect(near.message).toBe('unknown model "itemkn" (did you mean "itemknn"? models: popularity, random, itemknn, userknn, bridge, mf, emcdr, ptupcdr, migrec)');
    expect(thrown(() => modelSchema('toString')).message).toBe('unknown model "toString" (models: popularity, random, itemknn, userknn, bridge, mf, emcdr, ptupcdr, migrec)');
  });
});

describe('fusion components', () => {
  it('the components of the fused model, in fusion order', () => {
    expect(Object.keys(FUSION_COMPONENTS)).toEqual(['popularity', 'itemknn', 'userknn', 'bridge-user', 'bridge-item', 'emcdr', 'ptupcdr']);
    for (const c of Object.values(FUSION_COMPONENTS)) expect(c.model in MODEL_SCHEMAS).toBe(true);
  });

  it('componentSchema: no common options, no sources/targets, no fixed options; the component defaults', () => {
    expect(Object.keys(componentSchema('popularity'))).toEqual([]);
    expect(Object.keys(componentSchema('bridge-user'))).toEqual(['neighbors', 'neighborGrid', 'itemNeighborGrid', 'shrink', 'exponent', 'idf', 'asymmetry']);
    expect(Object.keys(componentSchema('emcdr'))).not.toContain('sources');
    expect(Object.keys(componentSchema('emcdr'))).toContain('coupling');
    expect(resolveOptions('itemknn', componentSchema('itemknn'), {})).toEqual({ neighbors: 100, shrink: 0, weighting: 'none', bm25K1: 1.2, bm25B: 0.75 });
    expect(resolveOptions('userknn', componentSchema('userknn'), {})).toEqual({ neighbors: 50, shrink: 0 });
    expect(MODEL_SCHEMAS.itemknn.neighbors.default).toBe(50); // the model's own default is untouched
    const fixed = thrown(() => resolveOptions('bridge-item', componentSchema('bridge-item'), { variant: 'user' }));
    expect(fixed).toBeInstanceOf(OptionTypeError);
    const seed = thrown(() => resolveOptions('itemknn', componentSchema('itemknn'), { seed: 1 }));
    expect(seed).toBeInstanceOf(OptionTypeError);
  });

  it('componentSchema: an unknown component is an OptionTypeError naming the nearest', () => {
    const e = thrown(() => componentSchema('bridge-usr'));
    expect(e).toBeInstanceOf(OptionTypeError);
    expect(e.option).toBe('components.bridge-usr');
    expect(e.message).toBe('unknown component "bridge-usr" for migrec (did you mean "bridge-user"?)');
    expect(thrown(() => componentSchema('mf')).message).toBe(
      'unknown component "mf" for migrec (components: popularity, itemknn, userknn, bridge-user, bridge-item, emcdr, ptupcdr)',
    );
  });
});
