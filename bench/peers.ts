/**
 * Side-by-side runner: on the same CSV, in the same run, times
 *   - migrec's item-kNN fit (`bench/knn.ts`, in a child process per thread count),
 *   - the scipy peer (`shared/peers/peer_itemknn.py`) when /usr/bin/python3 has scipy,
 *   - the C yard-stick (`shared/peers/knn_ref.c`, built with gcc) when the CSV has the `.i32`
 *     files gen_data.py writes next to it,
 * and prints one JSON object with every measurement and the ratios (ours / peer; < 1 is faster).
 * The machines are shared and noisy: only ratios measured together mean anything.
 *
 * Every measurement carries `load`: the machine's busy fraction and the other load (this process
 * tree's own CPU time taken out) while it ran. `--peer-repeat` sets the peers' repeats (default:
 * `--repeat`), for files where scipy takes tens of seconds per fit.
 *
 * usage: npx tsx bench/peers.ts --csv FILE [--k 50] [--threads 1,2] [--repeat 3] [--peer-repeat N] [--recommend 100000]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { busyFraction, cpuTimes, loadMeter, machine } from './machine.js';

const { values } = parseArgs({
  options: {
    csv: { type: 'string' },
    k: { type: 'string', default: '50' },
    threads: { type: 'string', default: '1,2' },
    repeat: { type: 'string', default: '3' },
    'peer-repeat': { type: 'string' },
    recommend: { type: 'string', default: '0' },
    peers: { type: 'string', default: process.env.MIGREC_PEERS ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/peers') },
  },
});
if (!values.csv) {
  process.stderr.write('usage: bench/peers.ts --csv FILE [--k 50] [--threads 1,2] [--repeat 3]\n');
  process.exit(2);
}
const csv = resolve(values.csv);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PY = '/usr/bin/python3';

function lastJson(out: string): Record<string, unknown> | undefined {
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
}

function run(cmd: string, args: string[], cwd = root): Record<string, unknown> | { error: string } {
  const stop = loadMeter();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  const load = stop();
  const j = r.status === 0 ? lastJson(r.stdout) : undefined;
  return j ? { ...j, load } : { error: `${cmd} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` };
}
const peerRepeat = values['peer-repeat'] ?? values.repeat;

const report: Record<string, unknown> = { machine: machine(), loadavg_before: loadavg().map((l) => Number(l.toFixed(2))) };
const c0 = cpuTimes();

// 1. migrec, one child per thread count.
const ours: Record<string, Record<string, unknown>> = {};
for (const t of values.threads.split(',')) {
  ours[t] = run(process.execPath, [
    '--expose-gc', '--import', 'tsx', join(root, 'bench/knn.ts'),
    '--csv', csv, '--k', values.k, '--threads', t, '--repeat', values.repeat, '--recommend', values.recommend,
  ]);
}
report.migrec = ours;

// 2. scipy peer.
const hasScipy = spawnSync(PY, ['-c', 'import scipy'], { encoding: 'utf8' }).status === 0;
const scipy = hasScipy
  ? run(PY, [join(values.peers, 'peer_itemknn.py'), '--csv', csv, '--k', values.k, '--repeat', peerRepeat])
  : { error: `${PY} cannot import scipy` };
report.scipy = scipy;

// 3. C yard-stick on the .i32 files next to the CSV.
const prefix = csv.replace(/\.csv$/, '');
let cref: Record<string, unknown> | { error: string } = { error: `no ${prefix}.indptr.i32 (run gen_data.py)` };
if (existsSync(`${prefix}.indptr.i32`)) {
  const exe = join(tmpdir(), 'migrec-knn_ref');
  const cc = spawnSync('gcc', ['-O2', '-march=native', join(values.peers, 'knn_ref.c'), '-o', exe, '-lm'], { encoding: 'utf8' });
  cref = cc.status === 0 ? run(exe, [prefix, values.k, peerRepeat]) : { error: `gcc failed: ${cc.stderr}` };
}
report.c_ref = cref;

// Ratios: ours / peer (median and best of ours; the C yard-stick reports its best run).
const ratios: Record<string, number> = {};
const num = (o: unknown, key: string) => (o && typeof (o as Record<string, unknown>)[key] === 'number' ? ((o as Record<string, number>)[key]) : undefined);
for (const [t, o] of Object.entries(ours)) {
  const med = num(o, 'similarity_s');
  const min = num(o, 'min_s');
  const sp = num(scipy, 'scipy_fit_s');
  const cb = num(cref, 'best_s');
  if (med !== undefined && sp !== undefined) ratios[`threads${t}_median_vs_scipy_median`] = Number((med / sp).toFixed(3));
  if (min !== undefined && cb !== undefined) ratios[`threads${t}_best_vs_c_best`] = Number((min / cb).toFixed(3));
  if (med !== undefined && cb !== undefined) ratios[`threads${t}_median_vs_c_best`] = Number((med / cb).toFixed(3));
}
report.ratios = ratios;
report.machine_busy_during_run = busyFraction(c0, cpuTimes());
report.loadavg_after = loadavg().map((l) => Number(l.toFixed(2)));
process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
