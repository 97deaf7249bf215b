/**
 * The whole benchmark suite, then the report: `npm run bench [-- --quick]`.
 *
 * Steps, each in its own child process (clean RSS, no JIT state shared between measurements),
 * each with the load on the machine while it ran (`machine.ts`):
 *   1. micro: `kernels.ts` (tinybench, every wasm kernel vs its TypeScript reference);
 *   2. peers: `peers.ts` per data set (migrec item-kNN fit with 1 and 2 threads, scipy, the C
 *      yard-stick, same file, same run, ratios pair by pair; sparse top-10 scoring throughput);
 *   3. library: `library.ts` per data set (load, ItemKnn fit and recommendBatch with 1 and 2
 *      threads, UserKnn, peak RSS) through the public API;
 *   4. quality and transfer: `migrec eval --json` (the CLI, run from the sources) on Amazon
 *      Toys <-> Video Games, all models, K = 10, 20; its fit timings give the transfer (mf,
 *      emcdr, ptupcdr) and fused (migrec) training times;
 *   5. cost growth: the syn-1m user-prefix sweep (1/8, 1/4, 1/2 of its users, 1 thread, with the
 *      peers), then log-log slopes of fit time and memory against interactions and against W.
 * Writes bench/results/<date>.json and regenerates docs/benchmarks.md and docs/bench-*.svg.
 *
 * usage: npx tsx bench/run.ts [--quick] [--only micro,peers,library,quality,growth] [--report-only FILE]
 *   --quick        skips syn-10m (the full run adds it: scipy alone needs about 5 GiB and a minute)
 *   --report-only  regenerates the report from a results file without measuring anything
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readUserItemCsv } from './csv.js';
import { loadMeter, machine } from './machine.js';
import { growthGroups, qualityDiff, ratioChanges, type BenchResults, type DatasetResult } from './report/model.js';
import { summary, writeReport } from './report/write.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'report-only': { type: 'string' },
    out: { type: 'string' },
  },
});
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, 'bench/results');
const docsDir = join(root, 'docs');

if (values['report-only']) {
  const results = JSON.parse(readFileSync(values['report-only'], 'utf8')) as BenchResults;
  const files = writeReport(results, docsDir, values['report-only']);
  process.stdout.write(`${summary(results)}\nwrote ${files.join(', ')}\n`);
  process.exit(0);
}

const SHARED = resolve(root, '../shared');
const PEERS = join(SHARED, 'peers');
const DATA = join(SHARED, 'data');
const SYN = '/tmp/migrec-peers/data';
const WORK = '/tmp/migrec-bench';
const PY = '/usr/bin/python3';
const steps = new Set((values.only ?? 'micro,peers,library,quality,growth').split(','));
const started = performance.now();
const log = (s: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

function lastJson(out: string): Record<string, unknown> | undefined {
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
}

/** Run a child, parse its last JSON line (or the whole stdout when `whole`), attach the load. */
function child(cmd: string, args: string[], whole = false): Record<string, unknown> {
  const stop = loadMeter();
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20 });
  const load = stop();
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').slice(-4).join(' | ');
    log(`  failed: ${cmd} ${args.join(' ')}: ${why}`);
    return { error: `exited ${r.status}: ${why}`, load };
  }
  let j: Record<string, unknown> | undefined;
  try {
    j = JSON.parse(r.stdout) as Record<string, unknown>; // one (possibly pretty-printed) object
  } catch {
    j = whole ? undefined : lastJson(r.stdout); // or the last JSON line after other output
  }
  return j ? { ...j, step_load: load } : { error: `no JSON from ${cmd}`, load };
}

/** Write the raw int32 CSR the C yard-stick reads (`<prefix>.indptr.i32`, `.indices.i32`). */
function writeI32(csv: string): void {
  const prefix = csv.replace(/\.csv$/, '');
  if (existsSync(`${prefix}.indptr.i32`) && statSync(`${prefix}.indptr.i32`).mtimeMs >= statSync(csv).mtimeMs) return;
  const x = readUserItemCsv(csv);
  writeFileSync(`${prefix}.indptr.i32`, new Int32Array(x.indptr.buffer, x.indptr.byteOffset, x.indptr.length));
  writeFileSync(`${prefix}.indices.i32`, new Int32Array(x.indices.buffer, x.indices.byteOffset, x.indices.length));
}

interface DatasetSpec {
  name: string;
  /** `user,item` CSV that every peer reads. */
  csv: string;
  /** What the library loads (and how). */
  library: { data: string; format: 'csv' | 'movielens'; domain?: string; recommend: number };
  repeat: number;
  peerRepeat: number;
}

mkdirSync(WORK, { recursive: true });
const datasets: DatasetSpec[] = [];
const mlDir = join(DATA, 'movielens-100k');
if (existsSync(join(mlDir, 'u.data'))) {
  const csv = join(WORK, 'ml-100k.csv');
  if (!existsSync(csv)) {
    const rows = readFileSync(join(mlDir, 'u.data'), 'latin1').split('\n').filter(Boolean).map((l) => l.split('\t'));
    writeFileSync(csv, `user,item\n${rows.map((f) => `u${f[0]},m${f[1]}`).join('\n')}\n`);
  }
  writeI32(csv);
  datasets.push({ name: 'movielens-100k', csv, library: { data: join(mlDir, 'u.data'), format: 'movielens', recommend: 943 }, repeat: 5, peerRepeat: 5 });
}
const amazon = join(DATA, 'amazon-toys-videogames');
if (existsSync(join(amazon, 'train.csv'))) {
  const csv = join(WORK, 'amazon-train.csv');
  if (!existsSync(csv)) {
    // The peers read user,item pairs; item ids are prefixed by domain so the two catalogues stay apart.
    const lines = readFileSync(join(amazon, 'train.csv'), 'utf8').split('\n').filter(Boolean);
    const h = lines[0].split(',');
    const [ui, ii, di] = [h.indexOf('user'), h.indexOf('item'), h.indexOf('domain')];
    writeFileSync(csv, `user,item\n${lines.slice(1).map((l) => { const f = l.split(','); return `${f[ui]},${di >= 0 ? `${f[di]}:` : ''}${f[ii]}`; }).join('\n')}\n`);
  }
  writeI32(csv);
  datasets.push({ name: 'amazon-toys-videogames', csv, library: { data: join(amazon, 'train.csv'), format: 'csv', domain: 'videogames', recommend: 100_000 }, repeat: 3, peerRepeat: 3 });
}
const synNames = values.quick ? ['syn-100k', 'syn-1m'] : ['syn-100k', 'syn-1m', 'syn-10m'];
for (const name of synNames) {
  const csv = join(SYN, `${name}.csv`);
  if (!existsSync(csv) || !existsSync(join(SYN, `${name}.indptr.i32`))) {
    log(`generating ${name} with gen_data.py`);
    const g = spawnSync(PY, [join(PEERS, 'gen_data.py'), '--only', name, '--csv'], { encoding: 'utf8' });
    if (g.status !== 0) {
      log(`  cannot generate ${name}: ${g.stderr.trim().split('\n').pop()}`);
      continue;
    }
  }
  const big = name === 'syn-10m';
  datasets.push({ name, csv, library: { data: csv, format: 'csv', recommend: 100_000 }, repeat: big ? 2 : 3, peerRepeat: big ? 1 : 3 });
}

/** sha256 over the file names and contents of src/ and assembly/: tells whether two runs measured the same code. */
function sourcesHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const f = join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else {
        h.update(f.slice(root.length));
        h.update(readFileSync(f));
      }
    }
  };
  walk(join(root, 'src'));
  walk(join(root, 'assembly'));
  return h.digest('hex');
}

const results: BenchResults = {
  schema: 1,
  date: new Date().toISOString(),
  mode: values.quick ? 'quick' : 'full',
  machine: machine(),
  loadavg_before: loadavg().map((l) => Number(l.toFixed(2))),
  commit: (spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout || '').trim() || null,
  dirty: (spawnSync('git', ['status', '--porcelain', '--', 'src', 'assembly'], { cwd: root, encoding: 'utf8' }).stdout || '').trim().length > 0,
  sources_sha256: sourcesHash(),
  micro: null,
  datasets: [],
  quality: null,
  growth: null,
  wall_s: 0,
};
log(`machine ${JSON.stringify(results.machine)}, load average ${results.loadavg_before.join(' ')}`);

if (steps.has('micro')) {
  log('micro: wasm kernels vs TypeScript reference (tinybench)');
  results.micro = child(process.execPath, ['--import', 'tsx', join(root, 'bench/kernels.ts'), '--time', values.quick ? '400' : '1000']);
}

for (const ds of datasets) {
  const entry: DatasetResult = { name: ds.name, csv: ds.csv.split('/').pop()!, peers: null, library: null };
  if (steps.has('peers')) {
    log(`peers: ${ds.name} (migrec 1 and 2 threads, scipy, C yard-stick)`);
    entry.peers = child(process.execPath, [
      '--import', 'tsx', join(root, 'bench/peers.ts'), '--csv', ds.csv, '--k', '50', '--threads', '1,2',
      '--repeat', String(ds.repeat), '--peer-repeat', String(ds.peerRepeat), '--recommend', '100000', '--peers', PEERS,
    ]);
  }
  if (steps.has('library')) {
    log(`library: ${ds.name} (load, ItemKnn fit + recommendBatch with 1 and 2 threads, UserKnn)`);
    const a = ['--expose-gc', '--import', 'tsx', join(root, 'bench/library.ts'), '--data', ds.library.data, '--format', ds.library.format, '--recommend', String(ds.library.recommend), '--repeat', ds.name === 'syn-10m' ? '1' : '2'];
    if (ds.library.domain) a.push('--domain', ds.library.domain);
    entry.library = child(process.execPath, a);
  }
  results.datasets.push(entry);
}

if (steps.has('quality') && existsSync(join(amazon, 'train.csv'))) {
  log('quality: migrec eval --json on Amazon Toys <-> Video Games, all models, K = 10, 20');
  const q = child(process.execPath, [
    '--import', 'tsx', join(root, 'src/cli/main.ts'), 'eval',
    '--train', join(amazon, 'train.csv'), '--valid', join(amazon, 'valid.csv'), '--test', join(amazon, 'test.csv'), '--k', '10,20', '--json',
  ], true);
  results.quality = { data: 'amazon-toys-videogames (train/valid/test.csv)', command: 'migrec eval --train train.csv --valid valid.csv --test test.csv --k 10,20 --json', ...q };
}

const syn1m = datasets.find((d) => d.name === 'syn-1m');
if (steps.has('growth') && syn1m) {
  // The first 1/8, 1/4 and 1/2 of syn-1m's users (its CSV lists each user's rows together).
  const lines = readFileSync(syn1m.csv, 'latin1').split('\n');
  const firstUser = (l: string) => l.slice(0, l.indexOf(','));
  const userStarts: number[] = [];
  for (let i = 1; i < lines.length; i++) if (lines[i] && firstUser(lines[i]) !== firstUser(lines[i - 1] ?? '')) userStarts.push(i);
  results.sweep = [];
  for (const [label, frac] of [['1/8', 0.125], ['1/4', 0.25], ['1/2', 0.5]] as const) {
    const end = userStarts[Math.floor(userStarts.length * frac)];
    const name = `syn-1m-u${label.replace('/', 'of')}`;
    const csv = join(WORK, `${name}.csv`);
    if (!existsSync(csv)) writeFileSync(csv, `${lines.slice(0, end).join('\n')}\n`);
    writeI32(csv);
    log(`growth: ${name} (first ${label} of syn-1m's users; migrec 1 thread, scipy, C)`);
    const peers = child(process.execPath, [
      '--import', 'tsx', join(root, 'bench/peers.ts'), '--csv', csv, '--k', '50', '--threads', '1', '--repeat', '3', '--peer-repeat', '3', '--peers', PEERS,
    ]);
    results.sweep.push({ name, csv: `${name}.csv`, peers, library: null });
  }
}
results.growth = growthGroups(results.datasets, results.sweep);
results.wall_s = Number(((performance.now() - started) / 1000).toFixed(1));

// Compare with the latest earlier results file: quality numbers must be identical; timing ratios
// are shown next to the previous ones (run-to-run noise).
mkdirSync(resultsDir, { recursive: true });
const outFile = values.out ?? join(resultsDir, `${results.date.slice(0, 10)}${values.quick ? '-quick' : ''}.json`);
// Latest first, runs of the same mode (quick / full) before the others.
const earlier = readdirSync(resultsDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ f: join(resultsDir, f), r: JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as BenchResults }))
  .filter((e) => typeof e.r.date === 'string')
  .sort((a, b) => Number(b.r.mode === results.mode) - Number(a.r.mode === results.mode) || (a.r.date < b.r.date ? 1 : -1));
for (const { f, r: prev } of earlier) {
  if (!results.ratios_vs_previous) {
    const rows = ratioChanges(prev, results);
    if (rows.length) results.ratios_vs_previous = { file: f.split('/').pop()!, date: prev.date, rows };
  }
  if (prev.quality && !('error' in prev.quality) && results.quality && !('error' in results.quality)) {
    const same = prev.sources_sha256 ? prev.sources_sha256 === results.sources_sha256 : null;
    results.quality_vs_previous = { file: f.split('/').pop()!, date: prev.date, same_sources: same, ...qualityDiff(prev.quality, results.quality) };
    break;
  }
}
writeFileSync(outFile, `${JSON.stringify(results, null, 1)}\n`);
const files = writeReport(results, docsDir, outFile);
process.stdout.write(`\n${summary(results)}\n`);
log(`wrote ${outFile.replace(`${root}/`, '')} and ${files.map((f) => f.replace(`${root}/`, '')).join(', ')}`);
log(`total ${results.wall_s} s`);
