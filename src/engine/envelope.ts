/**
 * The model file envelope every model shares: vocabularies, each domain's training rows, behaviour
 * folded in since, the item catalog, the model's options, and the scorer's own sections under
 * `model.`. The byte format (magic, manifest, sections, CRC) is io/modelfile.ts.
 */
import type { ItemCatalog } from '../data/catalog.js';
import { Vocabularies, Vocabulary } from '../data/vocab.js';
import { ModelFitError, ModelFormatError } from '../errors.js';
import { packStrings, readModelFile, unpackStrings, writeModelFile, type ModelFileContent, type SectionArray } from '../io/modelfile.js';
import type { Csr } from '../kernels/types.js';
import type { ModelData, Overlay } from './rows.js';
import type { SavedState } from './scorer.js';

/**
 * Version of the envelope's manifest. Files of migrec 0.1 have none: their options used other
 * names (`K1`, `alpha` of the bridge, `candidates`...) and were never validated, so they are refused
 * with a request to refit.
 */
export const ENGINE_VERSION = 2;

/** Everything a model file holds. */
export interface Envelope {
  model: string;
  data: ModelData;
  overlay: Overlay;
  catalog: ItemCatalog | undefined;
  /** The domain the model recommends in by default (null: none). */
  defaultDomain: string | null;
  /** The model's options as saved (validate before use). */
  options: Record<string, unknown>;
  state: SavedState;
  /** When the saved fit finished and its seconds per stage (null: not known, e.g. files of migrec 0.1.x). */
  fit?: { at: string; seconds: Record<string, number> } | null;
}

/**
 * Write a model file atomically, after checking that load would accept it: the encoded bytes are
 * decoded and run through every check of `readEnvelope`, then through `verify` (the facade
 * restores its scorer from them), before anything is written.
 * @throws {ModelFitError} when the model is not storable (the file would be refused on load, e.g.
 * a weight that is Infinity in float32); the existing file is unchanged.
 * @throws {StorageError} when the path cannot be written or is not a regular file.
 */
export async function writeEnvelope(path: string, e: Envelope, verify?: (back: Envelope) => void): Promise<void> {
  const { data, overlay, catalog } = e;
  const sections: Record<string, SectionArray> = {};
  // Training users, then users added by foldIn (compact indices in the file).
  const saved = savedUsers(data, overlay);
  const users = packStrings(Array.from(saved, (u) => data.vocab.users.id(u)));
  sections['vocab.users.offsets'] = users.offsets;
  sections['vocab.users.bytes'] = users.bytes;
  const domains = data.vocab.domains.list().slice(0, data.nItems.length);
  domains.forEach((_, d) => {
    const items = packStrings(data.vocab.items(d).list().slice(0, data.nItems[d]));
    sections[`vocab.items.${d}.offsets`] = items.offsets;
    sections[`vocab.items.${d}.bytes`] = items.bytes;
    // Training rows only (folded-in newcomers get empty rows): behaviour folded in after fitting
    // is saved on its own below and re-applied on load, so models whose state derives from the
    // training rows (user kNN, bridge, factors) load exactly as they were.
    const m = data.matrices[d];
    const indptr = saved.length === m.nRows ? m.indptr : Uint32Array.from({ length: saved.length + 1 }, (_, r) => m.indptr[Math.min(r, m.nRows)]);
    sections[`rows.${d}.indptr`] = indptr;
    sections[`rows.${d}.indices`] = m.indices;
    sections[`rows.${d}.data`] = m.data;
  });
  if (overlay.size > 0) {
    const position = new Map<number, number>();
    saved.forEach((u, q) => position.set(u, q));
    const fu: number[] = [];
    const fd: number[] = [];
    const fi: number[] = [];
    const fw: number[] = [];
    for (const [u, byDomain] of overlay) {
      for (const [d, items] of byDomain) {
        for (const [i, w] of items) {
          fu.push(position.get(u)!);
          fd.push(d);
          fi.push(i);
          fw.push(w);
        }
      }
    }
    sections['foldin.user'] = Uint32Array.from(fu);
    sections['foldin.domain'] = Uint32Array.from(fd);
    sections['foldin.item'] = Uint32Array.from(fi);
    sections['foldin.weight'] = Float32Array.from(fw);
  }
  if (catalog) {
    const cats = packStrings(catalog.categories.list());
    sections['catalog.categories.offsets'] = cats.offsets;
    sections['catalog.categories.bytes'] = cats.bytes;
    domains.forEach((_, d) => {
      sections[`catalog.${d}.category`] = catalog.category[d];
      sections[`catalog.${d}.price`] = catalog.price[d];
    });
  }
  for (const [k, v] of Object.entries(e.state.sections)) sections[`model.${k}`] = v;
  const check = (decoded: ModelFileContent): void => {
    try {
      const back = decodeEnvelope(decoded, path);
      verify?.(back);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ModelFitError(
        `cannot save ${e.model} model to ${path}: it is not storable, load would refuse it (${why.startsWith(`${path}: `) ? why.slice(path.length + 2) : why}); nothing was written`,
      );
    }
  };
  await writeModelFile(
    path,
    {
      model: e.model,
      meta: { engine: ENGINE_VERSION, domains, nUsers: saved.length, defaultDomain: e.defaultDomain, options: e.options, model: e.state.meta, ...(e.fit ? { fit: e.fit } : {}) },
      sections,
    },
    { verify: check },
  );
}

/** Indices of the users a model file holds: every training user, then folded-in newcomers. */
function savedUsers(data: ModelData, overlay: Overlay): Uint32Array {
  const extra = [...overlay.keys()].filter((u) => u >= data.nUsers).sort((a, b) => a - b);
  const out = new Uint32Array(data.nUsers + extra.length);
  for (let u = 0; u < data.nUsers; u++) out[u] = u;
  extra.forEach((u, q) => (out[data.nUsers + q] = u));
  return out;
}

/**
 * Read and check a model file (`content` when already read).
 * @throws {ModelFormatError} for a damaged file, a file of another model than `expected`, or a
 * file of migrec 0.1. @throws {StorageError} when it cannot be read.
 */
export async function readEnvelope(path: string, expected: string | undefined, content?: ModelFileContent): Promise<Envelope> {
  if (content !== undefined && expected !== undefined && content.model !== expected) throw new ModelFormatError(`${path}: holds a ${content.model} model, not ${expected}`);
  return decodeEnvelope(content ?? (await readModelFile(path, expected)), path);
}

/**
 * Check a decoded model file's envelope and build it (`label` names the file in messages).
 * @throws {ModelFormatError} naming the section or field that is wrong.
 */
export function decodeEnvelope(f: ModelFileContent, path: string): Envelope {
  const fail = (why: string): never => {
    throw new ModelFormatError(`${path}: ${why}`);
  };
  const meta = f.meta as { engine?: unknown; domains?: unknown; nUsers?: unknown; model?: unknown; defaultDomain?: unknown; options?: unknown; fit?: unknown };
  if (meta.engine === undefined) fail(`written by migrec 0.1, whose model files this version cannot read: refit the model (migrec fit ... --out ${path}) and save it again`);
  if (meta.engine !== ENGINE_VERSION) fail(`written by a newer migrec (engine ${String(meta.engine).slice(0, 40)}; this one reads ${ENGINE_VERSION})`);
  if (!Array.isArray(meta.domains) || !Number.isSafeInteger(meta.nUsers) || typeof meta.model !== 'object' || meta.model === null || Array.isArray(meta.model)) fail('manifest meta is incomplete');
  if (typeof meta.options !== 'object' || meta.options === null || Array.isArray(meta.options)) fail('saved options are missing');
  const domainNames = meta.domains as unknown[];
  if (domainNames.length === 0) fail('manifest meta.domains: no domains');
  const seenDomains = new Set<string>();
  for (const name of domainNames) {
    if (typeof name !== 'string') fail(`manifest meta.domains: domain name ${JSON.stringify(name)?.slice(0, 40)} is not a string`);
    if (seenDomains.has(name as string)) fail(`manifest meta.domains: duplicate domain name ${JSON.stringify(name).slice(0, 100)}`);
    seenDomains.add(name as string);
  }
  if (meta.defaultDomain !== undefined && meta.defaultDomain !== null && typeof meta.defaultDomain !== 'string') fail('manifest meta.defaultDomain is not a string');
  const fit = fitRecord(meta.fit, fail);
  const s = f.sections;
  const has = (name: string): boolean => Object.hasOwn(s, name);
  const vocab = new Vocabularies();
  const u32 = (name: string): Uint32Array => (has(name) && s[name] instanceof Uint32Array ? (s[name] as Uint32Array) : fail(`section ${name} is missing or not u32`));
  const u8 = (name: string): Uint8Array => (has(name) && s[name] instanceof Uint8Array ? (s[name] as Uint8Array) : fail(`section ${name} is missing or not u8`));
  const f32 = (name: string): Float32Array => (has(name) && s[name] instanceof Float32Array ? (s[name] as Float32Array) : fail(`section ${name} is missing or not f32`));
  const ids = (prefix: string): string[] => unpackStrings(u32(`${prefix}.offsets`), u8(`${prefix}.bytes`), path, `section ${prefix}`, true);
  // Ids into a vocabulary; a duplicate is found by the vocabulary's own map (no second set).
  const internAll = (prefix: string, v: Vocabulary): void => {
    for (const id of unpackStrings(u32(`${prefix}.offsets`), u8(`${prefix}.bytes`), path, `section ${prefix}`)) {
      const size = v.size;
      if (v.intern(id) < size) fail(`section ${prefix}: duplicate id ${JSON.stringify(id).slice(0, 100)}`);
    }
  };
  internAll('vocab.users', vocab.users);
  const nUsers = vocab.users.size;
  if (nUsers !== meta.nUsers) fail('user count does not match the manifest');
  const nItems: number[] = [];
  const matrices: Csr[] = [];
  (domainNames as string[]).forEach((name, d) => {
    vocab.domains.intern(name);
    internAll(`vocab.items.${d}`, vocab.items(d));
    const m: Csr = { nRows: nUsers, nCols: vocab.items(d).size, indptr: u32(`rows.${d}.indptr`), indices: u32(`rows.${d}.indices`), data: f32(`rows.${d}.data`) };
    validateCsr(m, `rows of domain ${name} (sections rows.${d}.*)`, path);
    nItems.push(m.nCols);
    matrices.push(m);
  });
  let catalog: ItemCatalog | undefined;
  if (has('catalog.categories.offsets') || has('catalog.categories.bytes')) {
    const i32 = (name: string): Int32Array => (has(name) && s[name] instanceof Int32Array ? (s[name] as Int32Array) : fail(`section ${name} is missing or not i32`));
    const categories = Vocabulary.fromList(ids('catalog.categories'));
    catalog = { categories, category: nItems.map((_, d) => i32(`catalog.${d}.category`)), price: nItems.map((_, d) => f32(`catalog.${d}.price`)), unknownItems: 0 };
    try {
      checkCatalog(catalog, nItems);
    } catch (e) {
      fail(`catalog sections: ${(e as Error).message}`);
    }
  }
  const overlay: Overlay = new Map();
  if (has('foldin.user') || has('foldin.domain') || has('foldin.item') || has('foldin.weight')) {
    const fu = u32('foldin.user');
    const fd = u32('foldin.domain');
    const fi = u32('foldin.item');
    const fw = f32('foldin.weight');
    if (fd.length !== fu.length || fi.length !== fu.length || fw.length !== fu.length) fail('folded-in behaviour sections disagree in length');
    for (let q = 0; q < fu.length; q++) {
      if (fu[q] >= nUsers || fd[q] >= nItems.length || fi[q] >= nItems[fd[q]] || !(fw[q] > 0) || !Number.isFinite(fw[q])) fail('folded-in behaviour is out of range');
      let byDomain = overlay.get(fu[q]);
      if (!byDomain) overlay.set(fu[q], (byDomain = new Map()));
      let items = byDomain.get(fd[q]);
      if (!items) byDomain.set(fd[q], (items = new Map()));
      items.set(fi[q], fw[q]);
    }
  }
  const own: Record<string, SectionArray> = {};
  for (const [k, v] of Object.entries(s)) if (k.startsWith('model.')) own[k.slice(6)] = v;
  return {
    model: f.model,
    data: { vocab, nUsers, nItems, matrices },
    overlay,
    catalog,
    defaultDomain: typeof meta.defaultDomain === 'string' ? meta.defaultDomain : null,
    options: meta.options as Record<string, unknown>,
    state: { meta: meta.model as Record<string, unknown>, sections: own },
    fit,
  };
}

/** The saved fit record (when and how long), checked. @throws through `fail` when malformed */
function fitRecord(v: unknown, fail: (why: string) => never): Envelope['fit'] {
  if (v === undefined || v === null) return null;
  const r = v as { at?: unknown; seconds?: unknown };
  if (typeof v !== 'object' || Array.isArray(v) || typeof r.at !== 'string' || Number.isNaN(Date.parse(r.at))) fail('manifest meta.fit: expected { at: an ISO date, seconds }');
  if (typeof r.seconds !== 'object' || r.seconds === null || Array.isArray(r.seconds)) fail('manifest meta.fit.seconds is not an object');
  const seconds: Record<string, number> = Object.create(null);
  for (const [k, x] of Object.entries(r.seconds as object)) {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) fail(`manifest meta.fit.seconds.${k.slice(0, 40)} is not a number of seconds`);
    seconds[k] = x as number;
  }
  return { at: r.at as string, seconds };
}

/**
 * Check a CSR read from a file before any model uses it.
 * @throws {ModelFormatError} naming what is wrong.
 */
export function validateCsr(m: Csr, what: string, label: string): void {
  const bad = (why: string): never => {
    throw new ModelFormatError(`${label}: ${what}: ${why}`);
  };
  if (m.indptr.length !== m.nRows + 1 || m.indptr[0] !== 0) bad('row pointer has the wrong length');
  if (m.indptr[m.nRows] !== m.indices.length || m.indices.length !== m.data.length) bad('sizes disagree');
  for (let r = 0; r < m.nRows; r++) if (m.indptr[r] > m.indptr[r + 1]) bad('row pointer decreases');
  for (let t = 0; t < m.indices.length; t++) if (m.indices[t] >= m.nCols) bad('column index out of range');
  for (let t = 0; t < m.data.length; t++) if (!Number.isFinite(m.data[t])) bad(`non-finite value ${m.data[t]} at position ${t} (a weight that does not fit in float32 becomes Infinity)`);
}

/**
 * Check that a catalog matches the training items.
 * @throws {RangeError} naming the mismatch.
 */
export function checkCatalog(c: ItemCatalog, nItems: readonly number[]): void {
  if (c.category.length !== nItems.length || c.price.length !== nItems.length) throw new RangeError('the item catalog does not match the domains of the data');
  nItems.forEach((n, d) => {
    if (c.category[d].length !== n || c.price[d].length !== n) throw new RangeError(`the item catalog does not match the items of domain ${d}`);
    for (let i = 0; i < n; i++) if (c.category[d][i] >= c.categories.size || c.category[d][i] < -1) throw new RangeError('the item catalog names an unknown category');
  });
}
