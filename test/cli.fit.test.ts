import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { decodeModelFile } from '../src/io/modelfile.js';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';

const { dir, file: f } = tempFiles('migrec-fit-');
// Checkerboard: users like the items of their own parity, except item = user number.
let text = 'user,item\n';
for (let u = 0; u < 20; u++) for (let i = u % 2; i < 20; i += 2) if (i !== u) text += `u${u},i${i}\n`;
const train = f('train.csv', text);
/** Two model files hold the same model: the same bytes in every section and the same manifest but for the fit record (dates and seconds). */
function sameModel(a: string, b: string): void {
  const [x, y] = [a, b].map((p) => decodeModelFile(new Uint8Array(readFileSync(p)), p));
  const meta = (m: Record<string, unknown>) => JSON.stringify({ ...m, fit: undefined });
  expect(meta(x.meta)).toBe(meta(y.meta));
  expect(x.model).toBe(y.model);
  expect(Object.keys(x.sections)).toEqual(Object.keys(y.sections));
  for (const k of Object.keys(x.sections)) {
    const [p, q] = [x.sections[k], y.sections[k]];
    expect(Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(Buffer.from(q.buffer, q.byteOffset, q.byteLength)), k).toBe(true);
  }
}
const NOT_SAVED = 'migrec: the fitted model was not saved (pass --out FILE to keep it)\n';

describe('migrec fit / recommend', () => {
  it('fits item kNN, reports the contract timings, saves, and recommends from the file', async () => {
    const out = join(dir, 'm.migrec');
    const r = await cli('fit', '--train', train, '--models', 'itemknn', '--neighbors', '50', '--threads', '0', '--out', out, '--json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const rep = JSON.parse(r.stdout);
    expect(rep.model).toBe('itemknn');
    expect(Object.keys(rep.timings)).toEqual(['load_s', 'similarity_s', 'transfer_s', 'fusion_s', 'total_s']);
    // A kNN model is all similarity: its fitReport total.
    expect(rep.timings.similarity_s).toBe(rep.stats.seconds.total);
    expect([rep.timings.transfer_s, rep.timings.fusion_s]).toEqual([0, 0]);
    expect(rep.stats.domains.default).toEqual({ items: 20, nnz: 180, W: 20 * 81 });
    expect(rep.stats.threads).toBe(0);
    const one = await cli('recommend', '--model', out, '--user', 'u4', '--k', '1', '--json');
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({ user: 'u4', items: ['i4'], scores: [expect.any(Number)], fallback: false });
    const users = f('users.txt', 'u1\nu2\n\nu3\n');
    const many = await cli('recommend', '--model', out, '--users', users, '--k', '1', '--threads', '1');
    expect(many.code).toBe(0);
    expect(many.stdout.trim().split('\n').map((l) => JSON.parse(l).items[0])).toEqual(['i1', 'i2', 'i3']);
  });

  it('pooled fit equals the in-process fit', async () => {
    const a = join(dir, 'a.migrec');
    const b = join(dir, 'b.migrec');
    expect((await cli('fit', '--train', train, '--models', 'itemknn', '--threads', '0', '--out', a)).code).toBe(0);
    expect((await cli('fit', '--train', train, '--models', 'itemknn', '--threads', '2', '--out', b)).code).toBe(0);
    sameModel(a, b);
  });

  it('--k is a deprecated alias of --neighbors (one warning line, the same model)', async () => {
    const a = join(dir, 'k.migrec');
    const b = join(dir, 'n.migrec');
    const r = await cli('fit', '--train', train, '--models', 'itemknn', '--k', '3', '--threads', '0', '--out', a);
    expect([r.code, r.stderr]).toEqual([0, 'migrec: --k is deprecated in fit: use --neighbors\n']);
    await cli('fit', '--train', train, '--models', 'itemknn', '--neighbors', '3', '--threads', '0', '--out', b);
    sameModel(a, b);
    const both = await cli('fit', '--train', train, '--models', 'itemknn', '--k', '3', '--neighbors', '3');
    expect([both.code, both.stderr]).toEqual([2, 'migrec: --k and --neighbors are the same option: give one\n']);
  });

  it('without --out: fits, and says on stderr that nothing was saved', async () => {
    const r = await cli('fit', '--train', train, '--models', 'popularity', '--threads', '0');
    expect([r.code, r.stderr]).toEqual([0, NOT_SAVED]);
    expect(r.stdout).toMatch(/^popularity: fitted in /);
  });

  it('--models a,b fits each: one JSON line per model, saved as DIR/<name>.migrec', async () => {
    const outDir = join(dir, 'several');
    mkdirSync(outDir);
    const r = await cli('fit', '--train', train, '--models', 'popularity,itemknn', '--neighbors', '5', '--threads', '0', '--out', outDir, '--json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((x) => x.model)).toEqual(['popularity', 'itemknn']);
    expect(lines.map((x) => x.stats.out.path)).toEqual([join(outDir, 'popularity.migrec'), join(outDir, 'itemknn.migrec')]);
    expect(lines[0].timings.similarity_s).toBe(0);
    const rec = await cli('recommend', '--model', join(outDir, 'itemknn.migrec'), '--user', 'u4', '--k', '1', '--json');
    expect(JSON.parse(rec.stdout).items).toEqual(['i4']);
    const noOut = await cli('fit', '--train', train, '--models', 'popularity,itemknn', '--threads', '0');
    expect([noOut.code, noOut.stderr]).toEqual([0, 'migrec: the fitted models were not saved (pass --out DIR to keep them)\n']);
  });

  it('the fused model: stages from its fitReport seconds, --set options of its components', async () => {
    let two = 'user,item,domain\n';
    for (let u = 0; u < 24; u++) {
      for (let j = 0; j <= u % 3; j++) two += `u${u},s${(u + j) % 5},src\n`;
      if (u < 16) two += `u${u},t${u % 3},tgt\nu${u},t${(u + 1) % 4},tgt\n`;
    }
    const path = f('two.csv', two);
    const r = await cli('fit', '--train', path, '--target', 'tgt', '--threads', '0', '--set', 'itemknn.neighbors=5', '--set', 'emcdr.factors=4', '--set', 'ptupcdr.factors=4', '--json');
    expect([r.code, r.stderr]).toEqual([0, NOT_SAVED]);
    const rep = JSON.parse(r.stdout);
    const s = rep.stats.seconds;
    // Without validation data ptupcdr is not fitted inside the fusion (nothing could show it beats its start).
    expect(Object.keys(s)).toEqual(['popularity', 'itemknn', 'userknn', 'bridge-user', 'bridge-item', 'emcdr', 'fusion', 'total']);
    expect(Object.keys(rep.stats.fit.skippedComponents)).toEqual(['ptupcdr']);
    expect(rep.timings.similarity_s).toBeCloseTo(s.popularity + s.itemknn + s.userknn + s['bridge-user'] + s['bridge-item'], 12);
    expect(rep.timings.transfer_s).toBeCloseTo(s.emcdr, 12);
    expect(rep.timings.fusion_s).toBe(s.fusion);
    expect(rep.timings.total_s).toBeGreaterThanOrEqual(rep.timings.load_s + s.total);
    // --target narrows the fused model's item kNN to the target; a plain item-kNN model keeps every domain.
    const out = join(dir, 'knn.migrec');
    const knn = await cli('fit', '--train', path, '--target', 'tgt', '--models', 'itemknn', '--threads', '0', '--out', out);
    expect([knn.code, knn.stderr]).toEqual([0, '']);
    const src = await cli('recommend', '--model', out, '--user', 'u1', '--domain', 'src', '--k', '2', '--json');
    expect([src.code, src.stderr]).toEqual([0, '']);
    expect(JSON.parse(src.stdout).items.length).toBeGreaterThan(0);
  });

  it('--out is checked before the data is read or a model fitted', async () => {
    // The training file is bad: reading it would fail with a data error, so the --out error shows
    // that nothing was read (let alone fitted) before the check.
    const bad = f('bad.csv', 'user,item,weight\nu1,i1,x\n');
    const missing = join(dir, 'no-such-dir', 'm.migrec');
    const r1 = await cli('fit', '--train', bad, '--models', 'itemknn', '--out', missing);
    expect([r1.code, r1.stderr, r1.stdout]).toEqual([2, `migrec: --out ${missing}: directory ${join(dir, 'no-such-dir')} does not exist\n`, '']);
    const r2 = await cli('fit', '--train', bad, '--models', 'itemknn', '--out', dir);
    expect([r2.code, r2.stderr]).toEqual([2, `migrec: --out ${dir} is a directory: give a file name (a directory is for several models, --models a,b)\n`]);
    const file = join(dir, 'one.migrec');
    const r3 = await cli('fit', '--train', bad, '--models', 'itemknn,userknn', '--out', file);
    expect([r3.code, r3.stderr]).toEqual([2, `migrec: --out must be an existing directory when fitting several models (got ${JSON.stringify(file)})\n`]);
    expect(existsSync(file)).toBe(false);
    // The same bad file without the --out problem: the data error.
    const r4 = await cli('fit', '--train', bad, '--models', 'itemknn', '--out', file);
    expect([r4.code, r4.stderr]).toEqual([2, 'migrec: bad.csv:2:3: malformed number "x" in column "weight" (expected a positive finite number)\n']);
  });

  it('--behavior-weight sets the weights of behaviours and changes the fit', async () => {
    let events = 'user,item,behavior\n';
    for (let u = 0; u < 12; u++) events += `u${u},a,pv\nu${u},${u % 2 ? 'b' : 'c'},${u % 3 ? 'buy' : 'pv'}\nu${u},d,cart\n`;
    const path = f('behavior.csv', events);
    const fitted = async (...extra: string[]) => {
      const out = join(dir, `bw${extra.length}.migrec`);
      const r = await cli('fit', '--train', path, '--models', 'itemknn', '--threads', '0', '--out', out, ...extra);
      expect([r.code, r.stderr]).toEqual([0, '']);
      return JSON.parse((await cli('recommend', '--model', out, '--user', 'u1', '--k', '3', '--json')).stdout).scores;
    };
    const plain = await fitted();
    const heavy = await fitted('--behavior-weight', 'buy=50', '--behavior-weight', 'cart=0.5');
    expect(heavy).not.toEqual(plain);
    const bad = await cli('fit', '--train', path, '--behavior-weight', 'buy=0');
    expect([bad.code, bad.stderr]).toEqual([2, 'migrec: --behavior-weight buy must be a positive number (got "0")\n']);
    const shape = await cli('fit', '--train', path, '--behavior-weight', 'buy');
    expect([shape.code, shape.stderr]).toEqual([2, 'migrec: --behavior-weight takes NAME=WEIGHT (got "buy")\n']);
  });

  it('errors: unknown user, corrupted file, bad options', async () => {
    const out = join(dir, 'e.migrec');
    await cli('fit', '--train', train, '--models', 'popularity', '--threads', '0', '--out', out);
    const u = await cli('recommend', '--model', out, '--user', 'ghost');
    expect([u.code, u.stderr]).toEqual([2, 'migrec: unknown user "ghost": not in the training data (use --fallback popularity to recommend popular items)\n']);
    const fb = await cli('recommend', '--model', out, '--user', 'ghost', '--fallback', 'popularity', '--k', '2', '--json');
    expect(JSON.parse(fb.stdout)).toMatchObject({ user: 'ghost', fallback: true });
    expect(JSON.parse(fb.stdout).items.length).toBe(2);
    const bytes = readFileSync(out);
    bytes[bytes.length >> 1] ^= 0xff;
    const bad = f('bad.migrec', '');
    writeFileSync(bad, bytes);
    const c = await cli('recommend', '--model', bad, '--user', 'u1');
    expect([c.code, c.stderr]).toEqual([2, `migrec: ${bad}: checksum mismatch (the file is truncated or corrupted)\n`]);
    const m = await cli('fit', '--train', train, '--models', 'mystery');
    expect([m.code, m.stderr]).toEqual([2, 'migrec: unknown model "mystery" in --models (available: popularity, random, itemknn, userknn, bridge, mf, emcdr, ptupcdr, migrec)\n']);
    const near = await cli('fit', '--train', train, '--models', 'itemkn');
    expect([near.code, near.stderr]).toEqual([2, 'migrec: unknown model "itemkn" in --models (did you mean itemknn?)\n']);
    const t = await cli('fit', '--train', train, '--target', 'music', '--models', 'popularity');
    expect([t.code, t.stderr]).toEqual([2, 'migrec: --target "music" is not a domain of ' + train + ' (domains: default)\n']);
    const both = await cli('recommend', '--model', out);
    expect([both.code, both.stderr]).toEqual([2, 'migrec: give exactly one of --user and --users\n']);
    const threads = await cli('fit', '--train', train, '--threads=-1');
    expect([threads.code, threads.stderr]).toEqual([2, 'migrec: --threads must be an integer >= 0 (got "-1")\n']);
  });

  it('--help lists the options of every model, or of the models named', async () => {
    const all = await cli('fit', '--help');
    expect(all.code).toBe(0);
    for (const flag of ['--neighbors', '--bm25-k1', '--asymmetry', '--factors', '--ridge-grid', '--mlp-hidden', '--meta-hidden', '--candidates-per-component', '--memory-budget', '--set']) {
      expect(all.stdout).toContain(flag);
    }
    const one = await cli('fit', '--models', 'itemknn', '--help');
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('itemknn:\n');
    expect(one.stdout).toContain('--bm25-k1');
    expect(one.stdout).not.toContain('--factors');
    expect(one.stdout).not.toContain('userknn:');
  });
});

describe('migrec bench', () => {
  it('times the fit per thread count and reports W and the machine', async () => {
    const r = await cli('bench', '--train', train, '--threads', '0,1', '--repeat', '1', '--neighbors', '10', '--json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = JSON.parse(r.stdout);
    expect(out.data).toMatchObject({ users: 20, items: 20, nnz: 180, W: 20 * 81 });
    expect(out.options).toEqual({ seed: 0, neighbors: 10 });
    expect(out.runs.map((x: { threads: number }) => x.threads)).toEqual([0, 1]);
    expect(out.runs[0].fit_s).toBeGreaterThan(0);
    expect(Object.keys(out.ratios)).toEqual(['threads1_vs_threads0']);
    const k = await cli('bench', '--train', train, '--threads', '0', '--repeat', '1', '--k', '7', '--json');
    expect([k.code, k.stderr]).toEqual([0, 'migrec: --k is deprecated in bench: use --neighbors\n']);
    expect(JSON.parse(k.stdout).options.neighbors).toBe(7);
  });
});

describe('internal failures', () => {
  it('exit 1 with one line, the stack only with --debug', async () => {
    // A directory as the --users file is bad input now (exit 2); an output that fails is internal.
    const out = join(dir, 'd.migrec');
    await cli('fit', '--train', train, '--models', 'popularity', '--threads', '0', '--out', out);
    const asDir = await cli('recommend', '--model', out, '--users', dir, '--threads', '0');
    expect(asDir.code).toBe(2);
    const broken = async (...argv: string[]) => {
      let stderr = '';
      const io = { stdout: () => { throw new Error('stdout is broken'); }, stderr: (s: string) => (stderr += s), isTTY: false };
      return { code: await runCli(argv, io), stderr };
    };
    const plain = await broken('recommend', '--model', out, '--user', 'u1');
    expect(plain.code).toBe(1);
    expect(plain.stderr).toBe('migrec: internal error: stdout is broken\n');
    const debug = await broken('recommend', '--model', out, '--user', 'u1', '--debug');
    expect(debug.code).toBe(1);
    expect(debug.stderr.split('\n').length).toBeGreaterThan(2);
  });
});
