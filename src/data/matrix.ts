/**
 * Per-domain users x items matrices in CSR form, built from event columns with two counting sorts
 * (by item, then stably by user), so rows come out sorted by item with O(rows + users + items)
 * work and no per-row objects. Duplicate (user, item) pairs are merged.
 */
import { DataError, OptionRangeError, quoteInput } from '../errors.js';
import type { Csr } from '../kernels/types.js';
import type { EventTable } from './events.js';

/** How duplicate (user, item) rows combine. */
export type DuplicatePolicy = 'sum' | 'max' | 'last';

/** Options of `buildMatrix`. */
export interface MatrixOptions {
  /** How duplicate (user, item) pairs combine: add weights, keep the largest, or keep the last row's. @default 'sum' */
  duplicates?: DuplicatePolicy;
  /** Number of rows. @default table.vocab.users.size */
  nUsers?: number;
  /** Number of columns. @default table.vocab.items(domain).size */
  nItems?: number;
  /** Use weight 1 for every pair (binary implicit feedback) instead of the row weights. @default false */
  binary?: boolean;
}

/**
 * The users x items matrix of one domain: row u holds user u's items with their merged weights.
 * Users without rows in the domain get empty rows; rows of other domains are ignored.
 * @throws {RangeError} for an unknown duplicate policy or an index outside nUsers/nItems.
 * @throws {DataError} when the summed weight of a duplicate (user, item) pair overflows float32.
 */
export function buildMatrix(table: EventTable, domain: number, options: MatrixOptions = {}): Csr {
  const policy = options.duplicates ?? 'sum';
  if (policy !== 'sum' && policy !== 'max' && policy !== 'last') {
    throw new OptionRangeError('duplicates', `options.duplicates must be one of sum, max, last (got ${JSON.stringify(policy)})`);
  }
  const nUsers = options.nUsers ?? table.vocab.users.size;
  const nItems = options.nItems ?? table.vocab.items(domain).size;
  const n = table.length;
  // Rows of this domain, in file order.
  let m = 0;
  for (let r = 0; r < n; r++) if (table.domain[r] === domain) m++;
  const rows = new Uint32Array(m);
  m = 0;
  for (let r = 0; r < n; r++) {
    if (table.domain[r] !== domain) continue;
    if (table.user[r] >= nUsers || table.item[r] >= nItems) {
      throw new RangeError(`row ${r} (line ${table.line[r]}) is outside the ${nUsers} x ${nItems} matrix`);
    }
    rows[m++] = r;
  }
  // Pass 1: stable counting sort by item.
  const byItem = countingSort(rows, table.item, nItems);
  // Pass 2: stable counting sort by user; rows end up grouped by user, sorted by item, file order within ties.
  const byUser = countingSort(byItem, table.user, nUsers);
  // Merge duplicates and build indptr.
  const indptr = new Uint32Array(nUsers + 1);
  const indices = new Uint32Array(m);
  const data = new Float32Array(m);
  let nnz = 0;
  let prevU = -1;
  let prevI = -1;
  for (let q = 0; q < m; q++) {
    const r = byUser[q];
    const u = table.user[r];
    const i = table.item[r];
    const w = options.binary ? 1 : table.weight[r];
    if (u === prevU && i === prevI) {
      const k = nnz - 1;
      if (options.binary) continue;
      if (policy === 'sum') {
        data[k] += w;
        if (data[k] === Infinity) throw sumOverflow(table, r, domain);
      }
      else if (policy === 'max') data[k] = Math.max(data[k], w);
      else data[k] = w;
      continue;
    }
    indices[nnz] = i;
    data[nnz] = w;
    nnz++;
    indptr[u + 1]++;
    prevU = u;
    prevI = i;
  }
  for (let u = 0; u < nUsers; u++) indptr[u + 1] += indptr[u];
  return {
    nRows: nUsers,
    nCols: nItems,
    indptr,
    indices: nnz === m ? indices : indices.slice(0, nnz),
    data: nnz === m ? data : data.slice(0, nnz),
  };
}

/** The `DataError` for row `r`, whose weight makes its (user, item) pair's sum overflow float32. */
function sumOverflow(table: EventTable, r: number, domain: number): DataError {
  const v = table.vocab;
  const name = (f: () => string): string => {
    try {
      return quoteInput(f());
    } catch {
      return '(unknown)';
    }
  };
  const user = name(() => v.users.id(table.user[r]));
  const item = name(() => v.items(domain).id(table.item[r]));
  const dom = name(() => v.domains.id(domain));
  return new DataError(
    { file: table.source, line: table.line[r] > 0 ? table.line[r] : undefined },
    `the summed weight of user ${user} and item ${item} (domain ${dom}) overflows float32 (3.4e38) at this row; rescale the weights, or merge duplicates with duplicates: 'max' or 'last'`,
  );
}

/** Stable counting sort of `rows` by `key[row]` in [0, nKeys). */
function countingSort(rows: Uint32Array, key: Uint32Array, nKeys: number): Uint32Array {
  const count = new Uint32Array(nKeys + 1);
  for (let q = 0; q < rows.length; q++) count[key[rows[q]] + 1]++;
  for (let k = 0; k < nKeys; k++) count[k + 1] += count[k];
  const out = new Uint32Array(rows.length);
  for (let q = 0; q < rows.length; q++) out[count[key[rows[q]]]++] = rows[q];
  return out;
}

/** `m` without the entries of some users' items (`byUser`: row -> columns to drop), as a new matrix. */
export function withoutEntries(m: Csr, byUser: ReadonlyMap<number, ReadonlySet<number>>): Csr {
  const drop = (u: number, e: number) => byUser.get(u)?.has(m.indices[e]) === true;
  let removed = 0;
  for (const [u] of byUser) if (u < m.nRows) for (let e = m.indptr[u]; e < m.indptr[u + 1]; e++) if (drop(u, e)) removed++;
  const nnz = m.indices.length - removed;
  const indptr = new Uint32Array(m.nRows + 1);
  const indices = new Uint32Array(nnz);
  const data = new Float32Array(nnz);
  let o = 0;
  for (let u = 0; u < m.nRows; u++) {
    const e0 = m.indptr[u];
    const e1 = m.indptr[u + 1];
    if (!byUser.has(u)) {
      indices.set(m.indices.subarray(e0, e1), o);
      data.set(m.data.subarray(e0, e1), o);
      o += e1 - e0;
    } else {
      for (let e = e0; e < e1; e++) {
        if (drop(u, e)) continue;
        indices[o] = m.indices[e];
        data[o++] = m.data[e];
      }
    }
    indptr[u + 1] = o;
  }
  return { nRows: m.nRows, nCols: m.nCols, indptr, indices, data };
}

/** Number of stored entries in row `u`. */
export function rowLength(m: Csr, u: number): number {
  return m.indptr[u + 1] - m.indptr[u];
}

/** Column sums (e.g. per-item popularity). */
export function columnSums(m: Csr): Float64Array {
  const out = new Float64Array(m.nCols);
  for (let q = 0; q < m.indices.length; q++) out[m.indices[q]] += m.data[q];
  return out;
}

/** Number of non-empty rows per column (distinct users per item). */
export function columnCounts(m: Csr): Uint32Array {
  const out = new Uint32Array(m.nCols);
  for (let q = 0; q < m.indices.length; q++) out[m.indices[q]]++;
  return out;
}
