/**
 * `migrec bench`: time the item-kNN fit and top-10 recommendation on an events file, for each
 * thread count, with medians, W (sum over users of n_u^2), ns per W, the machine and its load.
 * The full suite with peers and the report is `npm run bench` in a clone of the repository.
 */
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { createModel, createPool, Dataset, loadEvents } from '../index.js';
import { neighborsAlias, parseNumber, parseThreads, required, type CliIO, type Command, type FlagOptions, type Values } from './args.js';
import { DATA_HELP, DATA_OPTIONS, loadOptionsFrom } from './common.js';
import { modelFlagOptions, modelFlagsHelp, modelOptionsFrom } from './modelflags.js';

/** The model bench times. */
const MODEL = 'itemknn';

/** The flags of `migrec bench` other than the item-kNN options. */
const BENCH_OPTIONS = {
  train: { type: 'string' },
  k: { type: 'string' },
  threads: { type: 'string', default: '0,1,2' },
  repeat: { type: 'string', default: '3' },
  json: { type: 'boolean', default: false },
  ...DATA_OPTIONS,
} satisfies FlagOptions;

const BENCH_HELP = `Usage: migrec bench --train FILE [--neighbors 50] [--threads 0,1,2] [--repeat 3] [--json]

Times the item-kNN fit and top-10 recommendation for every user of the file's first domain, once
per thread count (0 = in this thread), and prints medians with the machine and its load during
each measurement. The item-kNN options below apply (--neighbors defaults to 50 here).

Options:
  --train FILE          events (user,item[,...])
  --threads LIST        thread counts to measure (default 0,1,2)
  --repeat N            runs per thread count; the median is reported (default 3)
  --k N                 deprecated: the same as --neighbors
${DATA_HELP}
  --json                print one JSON object

`;

/** `migrec bench`. */
export const bench: Command = {
  options: () => ({ ...BENCH_OPTIONS, ...modelFlagOptions(Object.keys(BENCH_OPTIONS), [MODEL]) }),
  help: () => BENCH_HELP + modelFlagsHelp([MODEL]),
  run: benchCommand,
};

/** Machine-wide busy fraction between two /proc/stat readings (undefined off Linux). */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - (f[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

/** Run `migrec bench`. */
async function benchCommand(given: Values, io: CliIO): Promise<number> {
  const path = required(given, 'train', 'bench');
  const aliased = neighborsAlias(given, 'bench', io);
  const v: Values = { ...aliased, neighbors: aliased.neighbors ?? '50' };
  const options = modelOptionsFrom(v, [MODEL], Object.keys(BENCH_OPTIONS))[MODEL];
  const repeat = parseNumber(String(v.repeat), '--repeat', (x) => Number.isInteger(x) && x > 0, 'a positive integer');
  const threadList = String(v.threads).split(',').map((t) => parseThreads(t));
  const t0 = performance.now();
  const events = await loadEvents(path, loadOptionsFrom(v));
  const data = Dataset.fromEvents(events);
  const loadSeconds = (performance.now() - t0) / 1000;
  // The fit covers every domain of the file, so W (sum over users of n_u^2) sums over them too.
  const x = data.matrix(0);
  let w = 0;
  for (let d = 0; d < data.nDomains; d++) {
    const m = data.matrix(d);
    for (let u = 0; u < m.nRows; u++) w += (m.indptr[u + 1] - m.indptr[u]) ** 2;
  }
  const users = data.vocab.users.list().slice(0, data.nUsers);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const runs: Array<{ threads: number; fit_s: number; fit_runs_s: number[]; ns_per_W: number; recommend_users_per_s: number; machine_busy: number | null }> = [];
  for (const threads of threadList) {
    const pool = threads > 0 ? createPool({ threads }) : undefined;
    try {
      const fit: number[] = [];
      const rec: number[] = [];
      const c0 = cpuTimes();
      for (let r = 0; r < repeat; r++) {
        const m = createModel(MODEL, { ...options, pool, domain: data.vocab.domains.id(0) });
        const a = performance.now();
        await m.fit(data);
        fit.push((performance.now() - a) / 1000);
        const b = performance.now();
        await m.recommendBatch(users, { k: 10 });
        rec.push((performance.now() - b) / 1000);
        await m.close();
      }
      const c1 = cpuTimes();
      const busy = c0 && c1 && c1.total > c0.total ? (c1.busy - c0.busy) / (c1.total - c0.total) : null;
      runs.push({ threads, fit_s: median(fit), fit_runs_s: fit, ns_per_W: (median(fit) * 1e9) / w, recommend_users_per_s: users.length / median(rec), machine_busy: busy });
    } finally {
      await pool?.close();
    }
  }
  const report = {
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
    data: { file: path, users: x.nRows, items: x.nCols, nnz: x.indices.length, W: w, load_s: loadSeconds },
    options,
    runs,
    ratios: Object.fromEntries(runs.slice(1).map((r) => [`threads${r.threads}_vs_threads${runs[0].threads}`, r.fit_s / runs[0].fit_s])),
  };
  if (v.json) io.stdout(`${JSON.stringify(report)}\n`);
  else {
    io.stdout(`${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}\n`);
    io.stdout(`${path}: ${x.nRows} users x ${x.nCols} items, ${x.indices.length} interactions, W = ${w}\n`);
    for (const r of runs) {
      io.stdout(
        `threads ${r.threads}: item-kNN fit ${r.fit_s.toFixed(3)} s (${r.ns_per_W.toFixed(1)} ns/W), recommend ${Math.round(r.recommend_users_per_s)} users/s` +
          (r.machine_busy === null ? '\n' : `, machine busy ${(r.machine_busy * 100).toFixed(0)}%\n`),
      );
    }
  }
  return 0;
}
