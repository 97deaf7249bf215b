/**
 * Item catalog: per item, a category and a price, for candidate filters (and long-tail items).
 * Read from CSV/TSV/JSON Lines with columns `item`, optionally `domain` (or `options.domain`),
 * `category`, `price`; other columns (title, brand, ...) are ignored. Items that training does not
 * know are counted and skipped: a catalog usually lists more items than were ever bought.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { DataError } from '../errors.js';
import { splitFields } from './lines.js';
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
 * @throws {DataError} for a missing item column, a malformed price, or an empty file.
 */
export async function loadCatalog(path: string, vocab: Vocabularies, nItems: readonly number[], options: CatalogOptions = {}): Promise<ItemCatalog> {
  const label = options.label ?? basename(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError({ file: label }, code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path}: ${(e as Error).message}`);
  }
  const catalog: ItemCatalog = {
    categories: new Vocabulary(),
    category: nItems.map((n) => new Int32Array(n).fill(-1)),
    price: nItems.map((n) => new Float32Array(n).fill(NaN)),
    unknownItems: 0,
  };
  const jsonl = /\.(jsonl|ndjson)$/i.test(path);
  const delim = /\.(tsv|tab)$/i.test(path) ? '\t' : ',';
  const lines = text.split('\n');
  let header: string[] | undefined;
  let rows = 0;
  lines.forEach((raw, n) => {
    const line = (n === 0 ? raw.replace(/^\ufeff/, '') : raw).replace(/\r$/, '');
    if (line.trim() === '') return;
    const where = { file: label, line: n + 1 };
    let get: (k: string) => string | undefined;
    if (jsonl) {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line);
      } catch {
        throw new DataError({ ...where, column: 1 }, 'invalid JSON');
      }
      get = (k) => (o[k] === undefined || o[k] === null ? undefined : String(o[k]));
    } else {
      const f = splitFields(line, delim, where);
      if (!header) {
        header = f.map((h) => h.trim().toLowerCase());
        if (!header.includes('item')) throw new DataError({ ...where }, `missing required column "item" (header: ${f.join(delim)})`);
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
      if (!Number.isFinite(x) || x < 0 || p.trim() === '') throw new DataError({ ...where, column: 'price' }, `malformed price ${JSON.stringify(p)} (expected a number >= 0)`);
      catalog.price[d][i] = x;
    }
  });
  if (rows === 0) throw new DataError({ file: label }, 'empty catalog (expected a header row and at least one item)');
  return catalog;
}
