/**
 * Item catalog: per item, a category and a price, for candidate filters (and long-tail items).
 * Read from CSV/TSV/JSON Lines with columns `item`, optionally `domain` (or `options.domain`),
 * `category`, `price`; other columns (title, brand, ...) are ignored. Items that training does not
 * know are counted and skipped: a catalog usually lists more items than were ever bought.
 */
import { basename } from 'node:path';
import { DataError, escapeInput, quoteInput } from '../errors.js';
import { splitFields, streamLines } from './lines.js';
import type { Vocabularies } from './vocab.js';
import { Vocabulary } from './vocab.js';

/** Category and price of the training items of every domain. */
export interface ItemCatalog {
  /** Category names. */
  categories: Vocabulary;
  /** Per domain: category index of each item (-1: none). */
  category: Int32Array[];
  /** Per domain: price of each item (NaN: none). */
  price: Float32Array[];
  /** Catalog rows whose item is not a training item (skipped). */
  unknownItems: number;
}

/** Options of `loadCatalog`. */
export interface CatalogOptions {
  /** Domain of rows without a domain column. @default 'default' */
  domain?: string;
  /** Label for error messages. @default the file's base name */
  label?: string;
}

/**
 * Read an item catalog against the training vocabularies (`nItems[d]` items per domain).
 * @throws {DataError} for a missing item column, a malformed price, a line that is not a JSON object,
 *   a line over 1 MiB, bytes that are not UTF-8, or an empty file.
 */
export async function loadCatalog(path: string, vocab: Vocabularies, nItems: readonly number[], options: CatalogOptions = {}): Promise<ItemCatalog> {
  const label = options.label ?? basename(path);
  const catalog: ItemCatalog = {
    categories: new Vocabulary(),
    category: nItems.map((n) => new Int32Array(n).fill(-1)),
    price: nItems.map((n) => new Float32Array(n).fill(NaN)),
    unknownItems: 0,
  };
  const jsonl = /\.(jsonl|ndjson)$/i.test(path);
  const delim = /\.(tsv|tab)$/i.test(path) ? '\t' : ',';
  let header: string[] | undefined;
  let rows = 0;
  // Streamed like events: lines of at most 1 MiB, UTF-8 checked, file:line on every error.
  await streamLines(path, label, (line, lineNo) => {
    if (line.trim() === '') return;
    const where = { file: label, line: lineNo };
    let get: (k: string) => string | undefined;
    if (jsonl) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new DataError({ ...where, column: 1 }, 'invalid JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new DataError({ ...where, column: 1 }, `expected a JSON object per line (got ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed})`);
      }
      const o = parsed as Record<string, unknown>;
      get = (k) => {
        const v = Object.hasOwn(o, k) ? o[k] : undefined;
        if (v === undefined || v === null) return undefined;
        if (typeof v === 'string') return v;
        if (typeof v === 'number' || typeof v === 'boolean') return String(v);
        throw new DataError({ ...where, column: k }, `${quoteInput(k)} must be a string or a number (got ${Array.isArray(v) ? 'array' : typeof v})`);
      };
    } else {
      const f = splitFields(line, delim, where);
      if (!header) {
        header = f.map((h) => h.trim().toLowerCase());
        if (!header.includes('item')) throw new DataError({ ...where }, `missing required column "item" (header: ${escapeInput(f.join(delim), 120)})`);
        return;
      }
      if (f.length !== header.length) throw new DataError({ ...where, column: Math.min(f.length, header.length) + 1 }, `expected ${header.length} fields, found ${f.length}`);
      get = (k) => {
        const i = header!.indexOf(k);
        return i < 0 ? undefined : f[i];
      };
    }
    rows++;
    const item = get('item');
    if (item === undefined || item === '') throw new DataError({ ...where, column: 'item' }, 'empty item id');
    const d = vocab.domains.get(get('domain') ?? options.domain ?? 'default');
    const i = d < 0 ? -1 : vocab.items(d).get(item);
    if (d < 0 || i < 0 || i >= (nItems[d] ?? 0)) {
      catalog.unknownItems++;
      return;
    }
    const c = get('category');
    if (c !== undefined && c !== '') catalog.category[d][i] = catalog.categories.intern(c);
    const p = get('price');
    if (p !== undefined && p !== '') {
      const x = Number(p);
      if (!Number.isFinite(Math.fround(x)) || x < 0 || p.trim() === '') throw new DataError({ ...where, column: 'price' }, `malformed price ${quoteInput(p)} (expected a number >= 0)`);
      catalog.price[d][i] = x;
    }
  });
  if (rows === 0) throw new DataError({ file: label }, 'empty catalog (expected a header row and at least one item)');
  return catalog;
}
