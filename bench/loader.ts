/**
 * Loader benchmark (issue 14 item 7): `loadEvents` on the same rows as CSV, as gzip CSV and as a
 * data-lake directory of Parquet part files, each load in a fresh child process (wall time, rows/s,
 * peak RSS). With `--old DIR` (a `git worktree` or `git archive` copy of an earlier commit) the old
 * loader reads the CSV and the Parquet part files in the same run, alternating with the new one, for
 * side-by-side figures. The machine and the load average (1 minute, at the start of each load and at
 * the end) are printed with the results: other jobs on the machine move the figures.
 *
 * Usage: npx tsx bench/loader.ts [--csv /tmp/syn10m.csv] [--runs 3] [--old /tmp/migrec-old] [--parts 10]
 * The CSV is made with `npx tsx bench/gen-two-domain.ts --events 10000000 --seed 1 --out /tmp/syn10m.csv`
 * when missing; the .gz and Parquet copies are written once next to it (outside the repository).
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { machine, median } from './machine.js';

const { values } = parseArgs({
  options: {
    csv: { type: 'string', default: '/tmp/syn10m.csv' },
    runs: { type: 'string', default: '3' },
    old: { type: 'string' },
    parts: { type: 'string', default: '10' },
    child: { type: 'string' },
    root: { type: 'string' },
  },
});

if (values.child) {
  // Child: one load, then report. The loader comes from --root (this repository or an old worktree).
  const { loadEvents } = (await import(join(resolve(values.root!), 'src/index.js'))) as typeof import('../src/index.js');
  const t0 = performance.now();
  const ev = await loadEvents(values.child);
  const s = (performance.now() - t0) / 1000;
  const out = { rows: ev.length, users: ev.vocab.users.size, seconds: s, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const csv = resolve(values.csv);
if (!existsSync(csv)) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'gen-two-domain.ts'), '--events', '10000000', '--seed', '1', '--out', csv], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('gen-two-domain failed');
}
const gz = `${csv}.gz`;
if (!existsSync(gz)) {
  await pipeline(createReadStream(csv), createGzip({ level: 6 }), createWriteStream(`${gz}.tmp`));
  renameSync(`${gz}.tmp`, gz);
}
const lake = `${csv.replace(/\.csv$/, '')}.parquet.d`;
if (!existsSync(lake)) await writeParquetLake(csv, lake, Number(values.parts));

/** Split the CSV into `parts` Parquet part files (snappy, row groups of 256k rows), as a data lake would. */
async function writeParquetLake(src: string, dir: string, parts: number): Promise<void> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const tmp = `${dir}.tmp`;
  mkdirSync(tmp, { recursive: true });
  const lines = createInterface({ input: createReadStream(src), crlfDelay: Infinity });
  let header: string[] | undefined;
  let total = 0;
  for await (const l of lines) if (header === undefined) header = l.split(',');
  else total++;
  const per = Math.ceil(total / parts);
  let cols: string[][] = header!.map(() => []);
  let part = 0;
  const flush = () => {
    const columnData = header!.map((name, c) =>
      name === 'timestamp' ? { name, data: cols[c].map((v) => BigInt(v)), type: 'INT64' as const } : { name, data: cols[c], type: 'STRING' as const },
    );
    const buf = parquetWriteBuffer({ columnData, rowGroupSize: 1 << 18 });
    writeFileSync(join(tmp, `part-${String(part++).padStart(5, '0')}.parquet`), new Uint8Array(buf));
    cols = header!.map(() => []);
  };
  let first = true;
  for await (const l of createInterface({ input: createReadStream(src), crlfDelay: Infinity })) {
    if (first) {
      first = false;
      continue;
    }
    const f = l.split(',');
    for (let c = 0; c < f.length; c++) cols[c].push(f[c]);
    if (cols[0].length === per) flush();
  }
  if (cols[0].length > 0) flush();
  writeFileSync(join(tmp, '_SUCCESS'), '');
  renameSync(tmp, dir);
}

interface Result {
  rows: number;
  users: number;
  seconds: number;
  peak_rss_mb: number;
  /** 1-minute load average when the load started. */
  load: number;
}

function load(root: string, path: string): Result {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', path, '--root', root], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`load of ${path} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Result;
}

const load1 = () => Number(loadavg()[0].toFixed(2));

const cases: { name: string; root: string; path: string }[] = [
  { name: 'CSV', root: repo, path: csv },
  { name: 'CSV .gz', root: repo, path: gz },
  { name: `Parquet (${readdirSync(lake).filter((n) => n.endsWith('.parquet')).length} part files)`, root: repo, path: lake },
];
if (values.old) {
  cases.push({ name: 'CSV, old loader', root: resolve(values.old), path: csv });
  cases.push({ name: 'Parquet, old loader', root: resolve(values.old), path: lake });
}
const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));
console.error(`machine: ${JSON.stringify(machine())}; load average at start (1, 5, 15 min): ${loadAtStart.join(', ')}`);
const results = new Map<string, Result[]>(cases.map((c) => [c.name, []]));
// Rounds alternate the cases, so a busy spell of the machine falls on all of them alike.
for (let run = 0; run < Number(values.runs); run++) {
  for (const c of cases) {
    const before = load1();
    const r = { ...load(c.root, c.path), load: before };
    results.get(c.name)!.push(r);
    console.error(`${c.name}: ${r.rows} rows in ${r.seconds.toFixed(2)} s, peak RSS ${r.peak_rss_mb} MB (load average ${before})`);
  }
}
const size = (p: string) => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, n) => s + statSync(join(p, n)).size, 0) : statSync(p).size);
const summary = cases.map((c) => {
  const rs = results.get(c.name)!;
  const s = median(rs.map((r) => r.seconds));
  return {
    input: c.name,
    mb: Math.round(size(c.path) / 1e6),
    rows: rs[0].rows,
    seconds_median: Number(s.toFixed(2)),
    seconds_all: rs.map((r) => Number(r.seconds.toFixed(2))),
    rows_per_s: Math.round(rs[0].rows / s),
    peak_rss_mb_median: median(rs.map((r) => r.peak_rss_mb)),
    load_average: rs.map((r) => r.load),
  };
});
const loadAtEnd = loadavg().map((x) => Number(x.toFixed(2)));
console.log(JSON.stringify({ machine: machine(), load_average_start: loadAtStart, load_average_end: loadAtEnd, csv, runs: Number(values.runs), summary }, null, 2));
console.log('\n| input | size | rows | wall (median) | rows/s | peak RSS | load average (1 min, per run) |\n|---|---|---|---|---|---|---|');
for (const s of summary) {
  console.log(`| ${s.input} | ${s.mb} MB | ${s.rows.toLocaleString('en')} | ${s.seconds_median.toFixed(2)} s (${s.seconds_all.map((x) => x.toFixed(2)).join(', ')}) | ${(s.rows_per_s / 1e6).toFixed(2)} M | ${s.peak_rss_mb_median} MB | ${s.load_average.join(', ')} |`);
}
console.log(`\nload average (1, 5, 15 min): ${loadAtStart.join(', ')} at the start, ${loadAtEnd.join(', ')} at the end`);
