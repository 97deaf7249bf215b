/**
 * Scale benchmark of the fused model against item kNN on seeded synthetic two-domain logs (the
 * library's generator, src/data/synthetic.ts), each command in its own process as a user runs it:
 *
 * - `migrec fit --train F --target music --source books` (the default fused model) and the same
 *   with `--models itemknn`: wall seconds and peak RSS, and their ratio (issue 14's target: <= 5x);
 * - `migrec recommend --model M --users U --fallback popularity` of the first `--recommend-users`
 *   users with each model: wall seconds and the ratio (target: <= 3x).
 *
 * Prints the machine, the data and every figure; `--json FILE` also writes them. Files go under
 * /tmp/migrec-scale (never into the repository). Run `npm run build:ts` first (it runs dist/).
 *
 *   npx tsx bench/scale.ts [--sizes 1000000,10000000] [--recommend-users 50000] [--runs 1] [--seed 1] [--json FILE]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeTwoDomainCsv } from '../src/data/synthetic.js';
import { busyFraction, cpuTimes, machine, median } from './machine.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000000' },
    'recommend-users': { type: 'string', default: '50000' },
    runs: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
  strict: true,
});
const sizes = values.sizes.split(',').map((s) => Number(s.replace(/_/g, '')));
const nRecommend = Number(values['recommend-users']);
const runs = Number(values.runs);
const seed = Number(values.seed);
for (const [name, v] of [['sizes', Math.min(...sizes)], ['recommend-users', nRecommend], ['runs', runs]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name} must be positive integers (got ${v})`);
}

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const preload = fileURLToPath(new URL('./rss-on-exit.mjs', import.meta.url));
if (!existsSync(cli)) throw new Error('dist/cli/main.js is missing: run `npm run build:ts` first');
const dir = '/tmp/migrec-scale';
mkdirSync(dir, { recursive: true });
const rssFile = `${dir}/rss.txt`;

/** Run the CLI in a child process: wall seconds and its peak RSS in MiB. */
function run(args: string[], stdout = 'ignore'): { seconds: number; rssMb: number } {
  rmSync(rssFile, { force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', preload, cli, ...args], {
    env: { ...process.env, MIGREC_BENCH_RSS_FILE: rssFile },
    stdio: ['ignore', stdout === 'ignore' ? 'ignore' : 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`migrec ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString().slice(0, 2000)}`);
  const rssMb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  return { seconds, rssMb };
}

const med = (xs: Array<{ seconds: number; rssMb: number }>) => ({ seconds: median(xs.map((x) => x.seconds)), rssMb: Math.max(...xs.map((x) => x.rssMb)) });

console.log(`machine: ${JSON.stringify(machine())}`);
const report: Record<string, unknown>[] = [];
for (const events of sizes) {
  const csv = `${dir}/syn-${events}-seed${seed}.csv`;
  const summary = writeTwoDomainCsv(csv, { events, seed });
  const users = `${dir}/users-${nRecommend}.txt`;
  writeFileSync(users, Array.from({ length: nRecommend }, (_, i) => `u${i}`).join('\n') + '\n');
  console.log(`data: ${csv}: ${summary.rows} rows, ${summary.users} users, ${(statSync(csv).size / 2 ** 20).toFixed(0)} MiB, seed ${seed}`);
  const fitArgs = ['fit', '--train', csv, '--target', 'music', '--source', 'books', '--quiet'];
  const recArgs = (model: string) => ['recommend', '--model', model, '--users', users, '--fallback', 'popularity', '--k', '10'];
  const busy0 = cpuTimes();
  const r: Record<string, { seconds: number; rssMb: number }> = {};
  const acc: Record<string, Array<{ seconds: number; rssMb: number }>> = { fitItemknn: [], fitMigrec: [], recItemknn: [], recMigrec: [] };
  for (let k = 0; k < runs; k++) {
    acc.fitItemknn.push(run([...fitArgs, '--models', 'itemknn', '--out', `${dir}/itemknn.migrec`]));
    acc.fitMigrec.push(run([...fitArgs, '--out', `${dir}/migrec.migrec`]));
    acc.recItemknn.push(run(recArgs(`${dir}/itemknn.migrec`)));
    acc.recMigrec.push(run(recArgs(`${dir}/migrec.migrec`)));
  }
  for (const [key, xs] of Object.entries(acc)) r[key] = med(xs);
  const load = busyFraction(busy0, cpuTimes());
  const row = {
    events,
    users: summary.users,
    runs,
    fit_itemknn_s: r.fitItemknn.seconds,
    fit_migrec_s: r.fitMigrec.seconds,
    fit_ratio: r.fitMigrec.seconds / r.fitItemknn.seconds,
    fit_itemknn_rss_mb: r.fitItemknn.rssMb,
    fit_migrec_rss_mb: r.fitMigrec.rssMb,
    recommend_users: nRecommend,
    recommend_itemknn_s: r.recItemknn.seconds,
    recommend_migrec_s: r.recMigrec.seconds,
    recommend_ratio: r.recMigrec.seconds / r.recItemknn.seconds,
    model_mb: { itemknn: statSync(`${dir}/itemknn.migrec`).size / 2 ** 20, migrec: statSync(`${dir}/migrec.migrec`).size / 2 ** 20 },
    machine_busy: load,
  };
  report.push(row);
  console.log(
    `${events} events: fit migrec ${row.fit_migrec_s.toFixed(1)} s (${row.fit_migrec_rss_mb} MiB) / itemknn ${row.fit_itemknn_s.toFixed(1)} s (${row.fit_itemknn_rss_mb} MiB) = ${row.fit_ratio.toFixed(2)}x; ` +
      `recommend ${nRecommend} users migrec ${row.recommend_migrec_s.toFixed(2)} s / itemknn ${row.recommend_itemknn_s.toFixed(2)} s = ${row.recommend_ratio.toFixed(2)}x; ` +
      `files ${row.model_mb.migrec.toFixed(0)} / ${row.model_mb.itemknn.toFixed(0)} MiB; machine busy ${load === undefined ? '?' : (load * 100).toFixed(0)}% (medians of ${runs})`,
  );
}
if (values.json) writeFileSync(values.json, JSON.stringify({ machine: machine(), date: new Date().toISOString(), results: report }, null, 2) + '\n');
