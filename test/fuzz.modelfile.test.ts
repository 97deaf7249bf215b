/**
 * Model file fuzzing (issue 15, acceptance): files of several model types, truncated at random
 * offsets, with random bit flips, and with randomly edited manifests under a valid recomputed CRC.
 * Every load either gives a model that recommends without an untyped error, or throws
 * ModelFormatError / StorageError; nothing else, and nothing hangs. Seeded and bounded in time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Bridge, isMigrecError, ItemKnn, loadModel, MigrationRecommender, ModelFormatError, Popularity, StorageError, type Recommender } from '../src/index.js';
import { crc32, MAGIC } from '../src/io/modelfile.js';
import { Rng } from '../src/random.js';
import { checkerboard, twoDomains } from './helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'migrec-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Per-case limit: a load or a recommend that takes longer counts as a hang. */
const CASE_MS = 3000;
/** Stop starting new cases after this long (the whole test stays under 20 s). */
const BUDGET_MS = 12000;

interface Parsed {
  manifest: Record<string, unknown>;
  payload: Uint8Array;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Split a model file into its manifest (parsed) and payload. */
function parse(bytes: Uint8Array): Parsed {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mlen = view.getUint32(12, true);
  const manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + mlen))) as Record<string, unknown>;
  return { manifest, payload: bytes.subarray(align8(16 + mlen), bytes.length - 4) };
}

/** A model file with this manifest text and payload, and a valid CRC. */
function assemble(manifestText: string, payload: Uint8Array): Uint8Array {
  const manifest = new TextEncoder().encode(manifestText);
  const start = align8(16 + manifest.length);
  const out = new Uint8Array(start + payload.length + 4);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(8, 1, true);
  view.setUint32(12, manifest.length, true);
  out.set(manifest, 16);
  out.set(payload, start);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** Every (container, key) in a JSON value, for picking an edit site. */
function sites(v: unknown, out: Array<[Record<string, unknown> | unknown[], string | number, string]> = [], path = ''): typeof out {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i, `${path}[${i}]`]), sites(x, out, `${path}[${i}]`)));
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      out.push([v as Record<string, unknown>, k, `${path}.${k}`]);
      sites(x, out, `${path}.${k}`);
    }
  }
  return out;
}

const WEIRD: unknown[] = [null, true, false, 0, -1, 1, 0.5, -0.5, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 40, 1e308, -1e308, '', 'x', 'f32', 'u32', 'i32', 'u8', 'f64', [], [0], [1, 2, 3], {}, { a: 1 }, '__proto__'];

/** One random edit of a manifest (in place); returns what it did. */
function editManifest(m: Record<string, unknown>, rng: Rng): string {
  const all = sites(m);
  // Section table entries and the envelope's meta are where the structure lives: favour them.
  const focus = all.filter(([, , p]) => p.startsWith('.sections') || p.startsWith('.meta.domains') || p.startsWith('.meta.nUsers') || p.startsWith('.meta.model'));
  const pool = focus.length > 0 && rng.next() < 0.7 ? focus : all;
  const [container, key, path] = pool[rng.int(pool.length)];
  const old = (container as Record<string | number, unknown>)[key];
  const op = rng.int(6);
  if (op === 0) {
    if (Array.isArray(container)) container.splice(key as number, 1);
    else delete container[key as string];
    return `delete ${path}`;
  }
  if (op === 1 && typeof old === 'number') {
    const delta = [1, -1, 8, -8, 4, 1000, -1000][rng.int(7)];
    (container as Record<string | number, unknown>)[key] = old + delta;
    return `${path} ${old} -> ${old + delta}`;
  }
  if (op === 2 && Array.isArray(old) && old.length > 0) {
    old.push(old[rng.int(old.length)]);
    return `duplicate an element of ${path}`;
  }
  if (op === 3 && typeof old === 'number') {
    const v = [old * 2, old * 1024, -old, old + 0.5, 2 ** 32 + old, Number.MAX_SAFE_INTEGER][rng.int(6)];
    (container as Record<string | number, unknown>)[key] = v;
    return `${path} ${old} -> ${v}`;
  }
  const v = WEIRD[rng.int(WEIRD.length)];
  (container as Record<string | number, unknown>)[key] = v;
  return `${path} = ${JSON.stringify(v)}`;
}

/** Swap two section entries' names (a valid table whose sections are in the wrong places). */
function swapSections(m: Record<string, unknown>, rng: Rng): string {
  const s = (m.sections as unknown[]).filter((e): e is { name: string } => typeof e === 'object' && e !== null && 'name' in e);
  if (s.length < 2) return 'no sections to swap';
  const a = rng.int(s.length);
  const b = rng.int(s.length);
  [s[a].name, s[b].name] = [s[b].name, s[a].name];
  return `swap sections ${s[b].name} and ${s[a].name}`;
}

/**
 * Untyped outcomes the fuzzer found whose fix lies outside the model file and envelope code (issue
 * 15, reported to their owners). They are printed, not failed on; anything else fails the test.
 * Remove an entry once its fix lands (the test then fails on it again if it comes back).
 */
const KNOWN: Array<[RegExp, string]> = [];

type Outcome = { ok: true } | { ok: false; why: string };

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${CASE_MS} ms`)), CASE_MS);
    }),
  ]);
}

/** Load `bytes` and use the model; typed outcomes only. */
async function check(bytes: Uint8Array, name: string, users: string[], domains: string[]): Promise<Outcome> {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  let model: Recommender;
  try {
    model = await withTimeout(loadModel(p), 'load');
  } catch (e) {
    if (e instanceof ModelFormatError || e instanceof StorageError) return { ok: true };
    return { ok: false, why: `load threw ${(e as Error)?.name}: ${(e as Error)?.message}` };
  }
  try {
    for (const d of domains) {
      for (const u of users) {
        try {
          model.recommend(u, { k: 5, domain: d });
        } catch (e) {
          if (!isMigrecError(e)) throw e;
        }
      }
      try {
        await withTimeout(model.recommendBatch(users, { k: 5, domain: d }), 'recommendBatch');
      } catch (e) {
        if (!isMigrecError(e)) throw e;
      }
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, why: `loaded, then recommend threw ${(e as Error)?.name}: ${(e as Error)?.message}` };
  } finally {
    await model.close();
  }
}

describe('fuzzed model files give a working model or ModelFormatError/StorageError', () => {
  it('popularity, itemknn, bridge and migrec files: truncations, bit flips, edited manifests with a valid CRC', { timeout: 20000 }, async () => {
    const t0 = performance.now();
    const board = checkerboard().data;
    const two = twoDomains().data;
    const fitted: Array<[string, Recommender, string[], string[]]> = [
      ['popularity', new Popularity(), ['u0', 'u1', 'nobody'], ['shop']],
      ['itemknn', new ItemKnn({ neighbors: 10 }), ['u0', 'u3', 'nobody'], ['shop']],
      ['bridge', new Bridge(), ['a1', 'b2', 'cold-a', 'nobody'], ['src', 'tgt']],
      ['migrec', new MigrationRecommender({ target: 'tgt', sources: ['src'], components: ['popularity', 'itemknn', 'bridge-user'] }), ['a1', 'cold-a', 'cold-b', 'nobody'], ['tgt']],
    ];
    const files: Array<[string, Uint8Array, string[], string[]]> = [];
    for (const [name, m, users, domains] of fitted) {
      await m.fit(name === 'popularity' || name === 'itemknn' ? board : two);
      const p = join(dir, `${name}.migrec`);
      await m.save(p);
      files.push([name, new Uint8Array(readFileSync(p)), users, domains]);
      await m.close();
    }
    const rng = new Rng(15);
    const failures: string[] = [];
    const knownHits = new Map<string, string[]>();
    const counts = { truncation: 0, bitflip: 0, payload: 0, manifest: 0 };
    const perModel = { truncation: 30, bitflip: 30, payload: 250, manifest: 500 };
    for (const [name, good, users, domains] of files) {
      // The intact file loads and recommends.
      const intact = await check(good, `${name}-intact.migrec`, users, domains);
      expect(intact, name).toEqual({ ok: true });
      const cases: Array<[string, () => Uint8Array]> = [];
      for (let t = 0; t < perModel.truncation; t++) {
        const n = rng.int(good.length);
        cases.push([`truncate to ${n} bytes`, () => good.subarray(0, n)]);
      }
      for (let t = 0; t < perModel.bitflip; t++) {
        const flips = 1 + rng.int(3);
        const at = Array.from({ length: flips }, () => [rng.int(good.length), rng.int(8)] as const);
        cases.push([
          `flip ${at.map(([p, b]) => `${p}:${b}`).join(',')}`,
          () => {
            const b = good.slice();
            for (const [p, bit] of at) b[p] ^= 1 << bit;
            return b;
          },
        ]);
      }
      // Bit flips anywhere under a recomputed CRC: the manifest's and the sections' contents are checked too.
      for (let t = 0; t < perModel.payload; t++) {
        const flips = 1 + rng.int(4);
        const at = Array.from({ length: flips }, () => [rng.int(good.length - 4), rng.int(8)] as const);
        cases.push([
          `crc-valid flip ${at.map(([p, b]) => `${p}:${b}`).join(',')}`,
          () => {
            const b = good.slice();
            for (const [p, bit] of at) b[p] ^= 1 << bit;
            new DataView(b.buffer).setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)), true);
            return b;
          },
        ]);
      }
      const base = parse(good);
      for (let t = 0; t < perModel.manifest; t++) {
        const m = JSON.parse(JSON.stringify(base.manifest)) as Record<string, unknown>;
        const edits = 1 + rng.int(2);
        const done: string[] = [];
        for (let e = 0; e < edits; e++) done.push(rng.next() < 0.1 && Array.isArray(m.sections) && (m.sections as unknown[]).length > 1 ? swapSections(m, rng) : editManifest(m, rng));
        const text = rng.next() < 0.05 ? JSON.stringify(m).slice(0, -1 - rng.int(5)) : JSON.stringify(m);
        cases.push([`manifest: ${done.join('; ')}`, () => assemble(text, base.payload)]);
      }
      for (const [what, make] of cases) {
        if (performance.now() - t0 > BUDGET_MS) break;
        const kind = what.startsWith('truncate') ? 'truncation' : what.startsWith('flip') ? 'bitflip' : what.startsWith('crc-valid') ? 'payload' : 'manifest';
        counts[kind]++;
        const r = await check(make(), `${name}-case.migrec`, users, domains);
        if (r.ok) continue;
        const line = `${name}: ${what}: ${r.why}`;
        const known = KNOWN.find(([re]) => re.test(line));
        if (known) knownHits.set(known[1], [...(knownHits.get(known[1]) ?? []), line]);
        else failures.push(line);
      }
    }
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`fuzz: ${counts.truncation} truncations, ${counts.bitflip} bit flips, ${counts.payload} flips with a recomputed CRC, ${counts.manifest} edited manifests in ${seconds} s; ${failures.length} untyped outcomes outside the known list`);
    for (const [why, lines] of knownHits) console.log(`known, not fixed here (${lines.length}x): ${why}; e.g. ${lines[0]}`);
    if (failures.length > 0) console.log(failures.slice(0, 40).join('\n'));
    expect(failures).toEqual([]);
    expect(counts.manifest).toBeGreaterThan(200);
  });
});
