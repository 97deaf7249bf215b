/**
 * The cluster mode on this machine: single-process fit vs the same fit through Redis with 1 and 2
 * `migrec worker` processes, and batch scoring likewise; checks the distributed results equal the
 * single-process ones (recommendations of --users users, byte for byte) and prints the machine,
 * the data, medians, ratios, the job counts (for the cost model of docs/deployment.md) and the
 * other load on the machine during each measurement.
 *
 *   npm run build && npx tsx bench/cluster.ts [--train FILE [--valid FILE] | --events 200000] [--target music]
 *     [--models itemknn,migrec] [--repeat 3] [--workers 1,2] [--users 1000] [--part-size 250] [--json FILE]
 *
 * Every fit runs in its own child process (`node dist/cli/main.js fit`), alternating single and
 * distributed, so each pays the same start-up. The single-process fit uses a pool of 2 threads;
 * the distributed one uses worker processes of 2 / N threads each (the same 2 cores in total).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadEvents, writeTwoDomainCsv } from '../src/index.js';
import { TestRedis, waitFor } from '../test/helpers/redis.js';
import { loadMeter, machine, median, type LoadReading } from './machine.js';

const { values } = parseArgs({
  options: {
    train: { type: 'string' },
    valid: { type: 'string' },
    events: { type: 'string', default: '200000' },
    target: { type: 'string', default: 'music' },
    models: { type: 'string', default: 'itemknn,migrec' },
    repeat: { type: 'string', default: '3' },
    workers: { type: 'string', default: '1,2' },
    users: { type: 'string', default: '1000' },
    'part-size': { type: 'string', default: '250' },
    json: { type: 'string' },
  },
});
const BIN = new URL('../dist/cli/main.js', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'migrec-bench-cluster-'));
const repeat = Number(values.repeat);
const workerCounts = values.workers!.split(',').map(Number);
let train = values.train;
if (!train) {
  train = join(tmp, 'train.csv');
  writeTwoDomainCsv(train, { events: Number(values.events), seed: 1 });
}
const events = await loadEvents(train);
const data = { file: train, rows: events.length, users: events.vocab.users.size, domains: events.vocab.domains.list() };
const users = events.vocab.users.list();
const step = Math.max(1, Math.floor(users.length / Number(values.users)));
const picked = users.filter((_, i) => i % step === 0).slice(0, Number(values.users));
const usersFile = join(tmp, 'users.txt');
writeFileSync(usersFile, `${picked.join('\n')}\n`);
console.log(JSON.stringify({ machine: machine(), data: { ...data, compare_users: picked.length } }));

/** CPU ticks (user + system) of running processes, from /proc/<pid>/stat (0 when unreadable). */
function ticksOf(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ').map(Number);
      t += f[11] + f[12];
    } catch {
      // gone
    }
  }
  return t;
}

/** Worker processes of the current measurement: their CPU is part of it, not other load. */
let workerPids: number[] = [];

/**
 * Run the CLI to the end (asynchronously: the workers' log pipes must keep flowing); wall seconds,
 * stdout, and the other load meanwhile (the workers' CPU taken out).
 */
async function cli(args: string[]): Promise<{ wall: number; out: string; load: LoadReading }> {
  const meter = loadMeter();
  const w0 = ticksOf(workerPids);
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const status = await new Promise<number | null>((r) => child.once('close', r));
  const wall = (performance.now() - t0) / 1000;
  if (status !== 0) throw new Error(`migrec ${args.join(' ')}: status ${status}\n${err}`);
  const load = meter();
  const cores = machine().cores;
  const workerCores = (ticksOf(workerPids) - w0) / 100 / wall;
  if (load.other_cores !== null) load.other_cores = Number(Math.max(0, load.other_cores - workerCores).toFixed(3));
  if (load.other_busy !== null) load.other_busy = Number(Math.max(0, load.other_busy - workerCores / cores).toFixed(3));
  return { wall, out, load };
}

/** `count` worker processes with `threads` threads each; their logs (files: a pipe could block them) count the jobs. */
async function startWorkers(url: string, count: number, threads: number): Promise<{ procs: ChildProcess[]; logs: string[]; read(): void }> {
  const files = Array.from({ length: count }, (_, i) => join(tmp, `worker-${count}-${i}.log`));
  const procs = files.map((file) => {
    const fd = openSync(file, 'w');
    const p = spawn(process.execPath, [BIN, 'worker', '--redis', url, '--threads', String(threads), '--verbose'], { stdio: ['ignore', 'ignore', fd] });
    closeSync(fd);
    return p;
  });
  const w = { procs, logs: files.map(() => ''), read: () => files.forEach((f, i) => (w.logs[i] = readFileSync(f, 'utf8'))) };
  for (let i = 0; i < count; i++) await waitFor(() => readFileSync(files[i], 'utf8'), /ready: queue/, 60_000, 'a worker');
  workerPids = procs.map((p) => p.pid!);
  return w;
}

async function stopWorkers(w: { procs: ChildProcess[] }): Promise<void> {
  await Promise.all(w.procs.map((p) => new Promise((r) => (p.once('exit', r), p.kill('SIGTERM')))));
  workerPids = [];
}

/** Jobs in the workers' logs since `from`: count, stages (merge parents) and the sum of job milliseconds. */
function jobStats(logs: string[], from: number[]): { jobs: number; stages: number; job_ms: number } {
  let jobs = 0;
  let stages = 0;
  let ms = 0;
  logs.forEach((l, i) => {
    for (const m of l.slice(from[i]).matchAll(/job \S+ (\S+) done in (\d+) ms/g)) {
      if (m[1] === 'merge') stages++;
      else jobs++;
      ms += Number(m[2]);
    }
  });
  return { jobs, stages, job_ms: ms };
}

const redis = await TestRedis.start();
const results: Record<string, unknown>[] = [];
try {
  for (const model of values.models!.split(',')) {
    const fitArgs = ['fit', '--train', train, ...(values.valid ? ['--valid', values.valid] : []), '--target', values.target!, '--models', model, '--json', '--quiet'];
    const localFile = join(tmp, `${model}-local.migrec`);
    const runs: Record<string, { wall: number[]; fit: number[]; load: LoadReading[]; jobs?: ReturnType<typeof jobStats> }> = { single: { wall: [], fit: [], load: [] } };
    const fitSeconds = (out: string) => {
      const j = JSON.parse(out) as { timings: { total_s: number; load_s: number } };
      return j.timings.total_s - j.timings.load_s;
    };
    for (const n of workerCounts) {
      const w = await startWorkers(redis.url, n, Math.max(1, 2 / n));
      const key = `${n} worker${n > 1 ? 's' : ''}`;
      runs[key] = { wall: [], fit: [], load: [] };
      const work = join(tmp, 'work');
      mkdirSync(work, { recursive: true });
      for (let r = 0; r < repeat; r++) {
        if (runs.single.wall.length < repeat) {
          const s = await cli([...fitArgs, '--threads', '2', '--out', localFile]);
          runs.single.wall.push(s.wall);
          runs.single.fit.push(fitSeconds(s.out));
          runs.single.load.push(s.load);
        }
        w.read();
        const from = w.logs.map((l) => l.length);
        const distFile = join(tmp, `${model}-${n}.migrec`);
        const d = await cli([...fitArgs, '--redis', redis.url, '--work-dir', work, '--out', distFile]);
        runs[key].wall.push(d.wall);
        runs[key].fit.push(fitSeconds(d.out));
        runs[key].load.push(d.load);
        w.read();
        runs[key].jobs = jobStats(w.logs, from);
        // The same recommendations for the compared users, byte for byte.
        const a = (await cli(['recommend', '--model', localFile, '--users', usersFile, '--threads', '2'])).out;
        const b = (await cli(['recommend', '--model', distFile, '--users', usersFile, '--threads', '2'])).out;
        if (a !== b) throw new Error(`${model}: the distributed fit (${n} workers) recommends differently from the single-process fit`);
      }
      // Batch scoring: --users single-process vs parts on the workers.
      const single = await cli(['recommend', '--model', localFile, '--users', usersFile, '--threads', '2']);
      const out = join(tmp, `parts-${model}-${n}`);
      rmSync(out, { recursive: true, force: true });
      const dist = await cli(['recommend', '--model', localFile, '--users', usersFile, '--redis', redis.url, '--out', out, '--part-size', values['part-size']!]);
      const joined = readdirSync(out).filter((f) => f.endsWith('.jsonl')).sort().map((f) => readFileSync(join(out, f), 'utf8')).join('');
      if (joined !== single.out) throw new Error(`${model}: distributed batch scoring differs from recommend --users`);
      results.push({ model, workers: n, scoring: { single_s: single.wall, distributed_s: dist.wall, equal: true, users: picked.length } });
      await stopWorkers(w);
    }
    const med = (k: string) => ({ wall_s: median(runs[k].wall), fit_s: median(runs[k].fit) });
    const summary = Object.fromEntries(Object.keys(runs).map((k) => [k, { ...med(k), ratio_fit: median(runs[k].fit) / median(runs.single.fit), jobs: runs[k].jobs, other_cores: runs[k].load.map((l) => l.other_cores) }]));
    results.push({ model, fit: summary, equal_recommendations: true });
    console.log(JSON.stringify({ model, fit: summary }));
  }
} finally {
  await redis.kill();
  rmSync(tmp, { recursive: true, force: true });
}
console.log('\nmodel     setting     fit s (median)  x single  jobs  stages  job ms  other load (cores)');
for (const r of results) {
  if (!r.fit) continue;
  for (const [k, v] of Object.entries(r.fit as Record<string, { fit_s: number; ratio_fit: number; jobs?: { jobs: number; stages: number; job_ms: number }; other_cores: Array<number | null> }>)) {
    console.log(`${String(r.model).padEnd(9)} ${k.padEnd(11)} ${v.fit_s.toFixed(2).padStart(14)}  ${v.ratio_fit.toFixed(2).padStart(8)}  ${String(v.jobs?.jobs ?? '-').padStart(4)}  ${String(v.jobs?.stages ?? '-').padStart(6)}  ${String(v.jobs?.job_ms ?? '-').padStart(6)}  ${v.other_cores.map((c) => c?.toFixed(2)).join(' ')}`);
  }
}
for (const r of results) if (r.scoring) console.log(`scoring ${r.model} ${r.workers} worker(s): ${JSON.stringify(r.scoring)}`);
if (values.json) writeFileSync(values.json, JSON.stringify({ machine: machine(), data, results }, null, 2));
