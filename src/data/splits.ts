/**
 * Seeded train / valid / test splits over event columns. Every split returns tables that share
 * the input's vocabularies; the same seed gives the same split.
 */
import { DataError, OptionRangeError } from '../errors.js';
import { Rng } from '../random.js';
import { selectRows, type EventTable } from './events.js';
import { Vocabularies } from './vocab.js';

/** A split of one event table. */
export interface Split {
  train: EventTable;
  valid: EventTable;
  test: EventTable;
}

/** Options of `coldStartSplit`. */
export interface ColdStartOptions {
  /** Source domain: the cold users keep their rows here. */
  source: string;
  /** Target domain: the cold users lose all their rows here. */
  target: string;
  /** Fraction of the users present in both domains whose target rows go to test. @default 0.2 */
  beta?: number;
  /** Fraction of those users whose target rows go to valid (taken from the rest). @default 0.1 */
  validBeta?: number;
  /** Seed of the user draw. @default 0 */
  seed?: number;
}

/**
 * Cold-start split: draw a fraction `beta` of the users who have rows in both `source` and
 * `target`; all their target rows become test rows, so in training they are cold in the target
 * and known only by their source behaviour. A further `validBeta` of those users form the
 * validation slice the same way. Everything else is training data.
 * @throws {RangeError} for bad fractions or unknown domains; {DataError} when no user is in both domains.
 */
export function coldStartSplit(table: EventTable, options: ColdStartOptions): Split {
  const beta = fraction(options.beta ?? 0.2, 'beta');
  const validBeta = fraction(options.validBeta ?? 0.1, 'validBeta');
  if (beta + validBeta > 1) throw new OptionRangeError('beta', `options.beta + options.validBeta must be at most 1 (got ${beta + validBeta})`);
  const seed = seedOf(options.seed);
  const s = table.vocab.domainIndex(options.source);
  const t = table.vocab.domainIndex(options.target);
  if (s === t) throw new OptionRangeError('source', `options.source and options.target must differ (both ${JSON.stringify(options.source)})`);
  const nUsers = table.vocab.users.size;
  const inS = new Uint8Array(nUsers);
  const inT = new Uint8Array(nUsers);
  for (let r = 0; r < table.length; r++) {
    if (table.domain[r] === s) inS[table.user[r]] = 1;
    else if (table.domain[r] === t) inT[table.user[r]] = 1;
  }
  const overlap: number[] = [];
  for (let u = 0; u < nUsers; u++) if (inS[u] && inT[u]) overlap.push(u);
  if (overlap.length === 0) {
    throw new DataError({ file: table.source }, `no user has rows in both ${JSON.stringify(options.source)} and ${JSON.stringify(options.target)}`);
  }
  Rng.derive(seed, 'cold-start').shuffle(overlap);
  const nTest = Math.round(beta * overlap.length);
  const nValid = Math.round(validBeta * overlap.length);
  const role = new Uint8Array(nUsers); // 0 train, 1 test, 2 valid
  for (let q = 0; q < nTest; q++) role[overlap[q]] = 1;
  for (let q = nTest; q < nTest + nValid; q++) role[overlap[q]] = 2;
  const parts: number[][] = [[], [], []];
  for (let r = 0; r < table.length; r++) parts[table.domain[r] === t ? role[table.user[r]] : 0].push(r);
  return finishSplit(table, parts);
}

/** Options of `temporalSplit`. */
export interface TemporalOptions {
  /** Also hold out each user's second-to-last row as validation. @default true */
  valid?: boolean;
}

/**
 * Temporal leave-last-out: each user's latest row (by timestamp, then file order) is a test row,
 * and with `valid` the one before it a validation row, provided the user keeps at least one
 * training row.
 * @throws {DataError} when a row has no timestamp.
 */
export function temporalSplit(table: EventTable, options: TemporalOptions = {}): Split {
  const withValid = options.valid ?? true;
  for (let r = 0; r < table.length; r++) {
    if (Number.isNaN(table.timestamp[r])) {
      throw new DataError({ file: table.source, line: table.line[r] || undefined }, 'a temporal split needs a timestamp on every row');
    }
  }
  const { order, start } = groupByUser(table);
  const role = new Uint8Array(table.length);
  for (let u = 0; u + 1 < start.length; u++) {
    const rows = Array.from(order.subarray(start[u], start[u + 1]));
    rows.sort((a, b) => table.timestamp[a] - table.timestamp[b] || a - b);
    const held = withValid ? 2 : 1;
    if (rows.length <= 1) continue;
    role[rows[rows.length - 1]] = 1;
    if (held === 2 && rows.length >= 3) role[rows[rows.length - 2]] = 2;
  }
  return byRole(table, role);
}

/** Options of `holdoutSplit`. */
export interface HoldoutOptions {
  /** Fraction of each user's rows held out for test. @default 0.2 */
  testFraction?: number;
  /** Fraction of each user's rows held out for validation. @default 0 */
  validFraction?: number;
  /** Seed of the row draw. @default 0 */
  seed?: number;
}

/**
 * Random per-user holdout: each user's rows are shuffled with the seed and fractions of them go to
 * test and valid (rounded, at least one test row for users with two or more rows, and at least one
 * row always stays in training).
 */
export function holdoutSplit(table: EventTable, options: HoldoutOptions = {}): Split {
  const testFraction = fraction(options.testFraction ?? 0.2, 'testFraction');
  const validFraction = fraction(options.validFraction ?? 0, 'validFraction');
  if (testFraction + validFraction >= 1) {
    throw new OptionRangeError('testFraction', `options.testFraction + options.validFraction must be below 1 (got ${testFraction + validFraction})`);
  }
  const rng = Rng.derive(seedOf(options.seed), 'holdout');
  const { order, start } = groupByUser(table);
  const role = new Uint8Array(table.length);
  for (let u = 0; u + 1 < start.length; u++) {
    const n = start[u + 1] - start[u];
    if (n < 2) continue;
    const rows = rng.shuffle(Array.from(order.subarray(start[u], start[u + 1])));
    let nTest = Math.max(testFraction > 0 ? 1 : 0, Math.round(testFraction * n));
    let nValid = Math.round(validFraction * n);
    if (nTest + nValid > n - 1) {
      nValid = Math.max(0, n - 1 - nTest);
      nTest = Math.min(nTest, n - 1);
    }
    for (let q = 0; q < nTest; q++) role[rows[q]] = 1;
    for (let q = nTest; q < nTest + nValid; q++) role[rows[q]] = 2;
  }
  return byRole(table, role);
}

function byRole(table: EventTable, role: Uint8Array): Split {
  const parts: number[][] = [[], [], []];
  for (let r = 0; r < table.length; r++) parts[role[r]].push(r);
  return finishSplit(table, parts);
}

/** Row lists [train, test, valid] -> tables re-indexed so that the training ids come first. */
function finishSplit(table: EventTable, parts: number[][]): Split {
  const [train, test, valid] = reindex([
    selectRows(table, parts[0], `${table.source} (train)`),
    selectRows(table, parts[1], `${table.source} (test)`),
    selectRows(table, parts[2], `${table.source} (valid)`),
  ]);
  return { train, valid, test };
}

/**
 * Copy tables into fresh vocabularies, numbering the first table's ids first (natural order), then
 * ids new in each following table. After a split this makes the training catalogue exactly the
 * items with training rows: an item seen only in test gets an index past it, as when the files are
 * loaded separately. Domain indices are kept.
 */
export function reindex(tables: readonly EventTable[]): EventTable[] {
  if (tables.length === 0) return [];
  const old = tables[0].vocab;
  const vocab = new Vocabularies();
  for (let d = 0; d < old.domains.size; d++) vocab.domains.intern(old.domains.id(d));
  for (let b = 0; b < old.behaviors.size; b++) vocab.behaviors.intern(old.behaviors.id(b));
  return tables.map((t) => {
    if (t.vocab !== old) throw new RangeError('reindex: tables must share one Vocabularies');
    const usersBefore = vocab.users.size;
    const itemsBefore = Array.from({ length: old.domains.size }, (_, d) => vocab.items(d).size);
    const user = new Uint32Array(t.length);
    const item = new Uint32Array(t.length);
    for (let r = 0; r < t.length; r++) {
      user[r] = vocab.users.intern(old.users.id(t.user[r]));
      item[r] = vocab.items(t.domain[r]).intern(old.items(t.domain[r]).id(t.item[r]));
    }
    const up = vocab.users.sortFrom(usersBefore);
    if (up) for (let r = 0; r < t.length; r++) if (user[r] >= usersBefore) user[r] = up[user[r] - usersBefore];
    for (let d = 0; d < old.domains.size; d++) {
      const ip = vocab.items(d).sortFrom(itemsBefore[d]);
      if (ip) for (let r = 0; r < t.length; r++) if (t.domain[r] === d && item[r] >= itemsBefore[d]) item[r] = ip[item[r] - itemsBefore[d]];
    }
    return { ...t, vocab, user, item };
  });
}

/** Row indices grouped by user (counting sort; file order within a user). */
export function groupByUser(table: EventTable): { order: Uint32Array; start: Uint32Array } {
  const nUsers = table.vocab.users.size;
  const start = new Uint32Array(nUsers + 1);
  for (let r = 0; r < table.length; r++) start[table.user[r] + 1]++;
  for (let u = 0; u < nUsers; u++) start[u + 1] += start[u];
  const fill = start.slice(0, nUsers);
  const order = new Uint32Array(table.length);
  for (let r = 0; r < table.length; r++) order[fill[table.user[r]]++] = r;
  return { order, start };
}

function fraction(x: number, name: string): number {
  if (typeof x !== 'number' || !(x >= 0 && x <= 1)) throw new OptionRangeError(name, `options.${name} must be a number in [0, 1] (got ${String(x)})`);
  return x;
}

function seedOf(seed: number | undefined): number {
  const s = seed ?? 0;
  if (!Number.isInteger(s)) throw new OptionRangeError('seed', `options.seed must be an integer (got ${String(seed)})`);
  return s;
}
