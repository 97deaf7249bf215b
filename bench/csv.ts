/**
 * A small, lean reader of `user,item` event CSVs for the kernel benchmarks (the same matrix the
 * scipy peer builds: every (user, item) pair counts once, value 1). Reads the file in 8 MiB
 * chunks, maps ids to dense indices in order of first appearance (ids of the form
 * `<prefix><decimal>` through a typed array, others through a Map), and keeps the pairs in
 * fixed-size blocks, so that the loader's peak memory stays small next to the fit it feeds.
 * Not the library's loader (src/data): it serves the benchmarks only.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Csr } from '../src/kernels/types.js';

/** Dense ids for one column: numeric suffixes with a common prefix via a typed array, else a Map. */
class IdMap {
  size = 0;
  private prefix: string | undefined;
  private byNumber = new Int32Array(1 << 16).fill(-1);
  private readonly byString = new Map<string, number>();

  /** Index of the id in `buf[start, end)`. */
  get(buf: Buffer, start: number, end: number): number {
    let p = end;
    while (p > start && buf[p - 1] >= 48 && buf[p - 1] <= 57) p--;
    const digits = end - p;
    if (digits > 0 && digits <= 9 && (digits === 1 || buf[p] !== 48)) {
      const prefix = p > start ? buf.toString('latin1', start, p) : '';
      this.prefix ??= prefix;
      if (prefix === this.prefix) {
        let n = 0;
        for (let q = p; q < end; q++) n = n * 10 + (buf[q] - 48);
        if (n >= this.byNumber.length) {
          const grown = new Int32Array(Math.max(n + 1, this.byNumber.length * 2)).fill(-1);
          grown.set(this.byNumber);
          this.byNumber = grown;
        }
        let id = this.byNumber[n];
        if (id < 0) id = this.byNumber[n] = this.size++;
        return id;
      }
    }
    const s = buf.toString('latin1', start, end);
    let id = this.byString.get(s);
    if (id === undefined) {
      id = this.size++;
      this.byString.set(s, id);
    }
    return id;
  }
}

const BLOCK = 1 << 20;

/** Read `path` (header with `user` and `item` columns) into a users x items binary CSR. */
export function readUserItemCsv(path: string): Csr {
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(8 << 20);
  let carry = Buffer.alloc(0);
  let ui = -1;
  let ii = -1;
  const users = new IdMap();
  const items = new IdMap();
  const blocksU: Uint32Array[] = [];
  const blocksI: Uint32Array[] = [];
  let n = 0;
  let eof = false;
  while (!eof) {
    const got = readSync(fd, chunk, 0, chunk.length, null);
    eof = got === 0;
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, got)]) : chunk.subarray(0, got);
    let pos = 0;
    for (;;) {
      let end = buf.indexOf(10, pos);
      if (end < 0) {
        if (!eof) break;
        end = buf.length;
        if (end === pos) break;
      }
      let lineEnd = end;
      if (lineEnd > pos && buf[lineEnd - 1] === 13) lineEnd--;
      if (ui < 0) {
        const header = buf.toString('latin1', pos, lineEnd).split(',');
        ui = header.indexOf('user');
        ii = header.indexOf('item');
        if (ui < 0 || ii < 0) throw new Error(`${path}: header needs user and item columns (got ${header.join(',')})`);
      } else if (lineEnd > pos) {
        let col = 0;
        let start = pos;
        let u = 0;
        let it = 0;
        for (let p = pos; p <= lineEnd; p++) {
          if (p === lineEnd || buf[p] === 44) {
            if (col === ui) u = users.get(buf, start, p);
            else if (col === ii) it = items.get(buf, start, p);
            col++;
            start = p + 1;
          }
        }
        if ((n & (BLOCK - 1)) === 0) {
          blocksU.push(new Uint32Array(BLOCK));
          blocksI.push(new Uint32Array(BLOCK));
        }
        blocksU[n >>> 20][n & (BLOCK - 1)] = u;
        blocksI[n >>> 20][n & (BLOCK - 1)] = it;
        n++;
      }
      pos = end + 1;
      if (pos >= buf.length) break;
    }
    carry = pos < buf.length ? Buffer.from(buf.subarray(pos)) : Buffer.alloc(0);
  }
  closeSync(fd);
  const nRows = users.size;
  const nCols = items.size;
  // Counting sort by user, then sort and deduplicate each row.
  const indptr = new Uint32Array(nRows + 1);
  for (let e = 0; e < n; e++) indptr[blocksU[e >>> 20][e & (BLOCK - 1)] + 1]++;
  for (let r = 0; r < nRows; r++) indptr[r + 1] += indptr[r];
  const fill = indptr.slice(0, nRows);
  const idx = new Uint32Array(n);
  for (let e = 0; e < n; e++) idx[fill[blocksU[e >>> 20][e & (BLOCK - 1)]]++] = blocksI[e >>> 20][e & (BLOCK - 1)];
  blocksU.length = 0;
  blocksI.length = 0;
  const outPtr = new Uint32Array(nRows + 1);
  let w = 0;
  for (let r = 0; r < nRows; r++) {
    const row = idx.subarray(indptr[r], indptr[r + 1]).sort();
    for (let t = 0; t < row.length; t++) if (t === 0 || row[t] !== row[t - 1]) idx[w++] = row[t];
    outPtr[r + 1] = w;
  }
  const indices = w === n ? idx : idx.slice(0, w);
  return { nRows, nCols, indptr: outPtr, indices, data: new Float32Array(w).fill(1) };
}

/** W = sum over users of n_u^2, the multiply-adds of the row-by-row item-item product. */
export function workW(x: Csr): number {
  let w = 0;
  for (let u = 0; u < x.nRows; u++) {
    const c = x.indptr[u + 1] - x.indptr[u];
    w += c * c;
  }
  return w;
}
