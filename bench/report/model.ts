/**
 * The results file's shape and the figures derived from it (ratios, targets, growth slopes):
 * pure functions of the raw results, shared by the runner and the report generator.
 */

/** A child's JSON output (see peers.ts, library.ts, kernels.ts), or `{ error }`. */
export type Raw = Record<string, unknown>;

/** One data set's measurements. */
export interface DatasetResult {
  name: string;
  csv: string;
  /** bench/peers.ts output. */
  peers: Raw | null;
  /** bench/library.ts output. */
  library: Raw | null;
}

/** One point of a cost-growth series. */
export interface GrowthPoint {
  dataset: string;
  nnz: number;
  W: number;
  value: number;
}

/** A series and its fitted log-log slopes. */
export interface GrowthSeries {
  name: string;
  unit: 's' | 'MiB';
  points: GrowthPoint[];
  slope_vs_nnz: number | null;
  slope_vs_W: number | null;
}

/** Growth series over one family of data sets. */
export interface GrowthGroup {
  group: string;
  series: GrowthSeries[];
}

/** Everything one `npm run bench` run measured. */
export interface BenchResults {
  schema: 1;
  date: string;
  mode: 'quick' | 'full';
  machine: { cpu: string; cores: number; memory_gib: number; node: string };
  loadavg_before: number[];
  commit: string | null;
  /** Whether src/ or assembly/ had uncommitted changes when the run started. */
  dirty: boolean;
  micro: Raw | null;
  datasets: DatasetResult[];
  quality: Raw | null;
  /** Prefixes of syn-1m (the first 1/8, 1/4, 1/2 of its users): a sweep with the generator's shape. */
  sweep?: DatasetResult[];
  growth: GrowthGroup[] | null;
  /** sha256 of src/ and assembly/ (file names and contents) when the run started. */
  sources_sha256?: string;
  quality_vs_previous?: { file: string; date: string; same_sources: boolean | null; identical: boolean; compared: number; differences: string[] };
  /** The same-run timing ratios of the previous results file, to show run-to-run noise. */
  ratios_vs_previous?: { file: string; date: string; rows: RatioChange[] };
  wall_s: number;
}

/** The load reading a measurement carries. */
export interface Load {
  machine_busy: number | null;
  other_busy: number | null;
  other_cores: number | null;
  wall_s: number;
}

/** `o[key]` when it is an object. */
export function obj(o: unknown, ...path: string[]): Raw | undefined {
  let cur: unknown = o;
  for (const k of path) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Raw)[k];
  }
  return cur && typeof cur === 'object' && !Array.isArray(cur) ? (cur as Raw) : undefined;
}

/** `o[path]` when it is a finite number. */
export function num(o: unknown, ...path: string[]): number | undefined {
  const key = path.pop()!;
  const parent = path.length ? obj(o, ...path) : (o as Raw | undefined);
  const v = parent && typeof parent === 'object' ? parent[key] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Least-squares slope of log(y) on log(x); null with fewer than two distinct x. */
export function logLogSlope(xs: number[], ys: number[]): number | null {
  const pts = xs.map((x, i) => [Math.log(x), Math.log(ys[i])] as const).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  if (new Set(pts.map((p) => p[0])).size < 2) return null;
  const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  let sxy = 0;
  let sxx = 0;
  for (const [a, b] of pts) {
    sxy += (a - mx) * (b - my);
    sxx += (a - mx) ** 2;
  }
  return Number((sxy / sxx).toFixed(3));
}

/** Size facts of a data set as the peers saw it (the same user,item matrix for all of them). */
export function sizeOf(d: DatasetResult): { nnz: number; W: number; users: number; items: number } | undefined {
  const m = obj(d.peers, 'migrec', '1') ?? obj(d.peers, 'migrec', '2');
  const nnz = num(m, 'nnz') ?? num(d.peers, 'scipy', 'nnz');
  const W = num(m, 'W') ?? num(d.peers, 'scipy', 'W');
  if (nnz === undefined || W === undefined) return undefined;
  return { nnz, W, users: num(m, 'users') ?? 0, items: num(m, 'items') ?? 0 };
}

/** The growth groups of a run: the syn-1m prefix sweep, the synthetic scale steps, all data sets. */
export function growthGroups(datasets: DatasetResult[], sweep: DatasetResult[] = []): GrowthGroup[] {
  const syn1m = datasets.filter((d) => d.name === 'syn-1m');
  const groups: GrowthGroup[] = [];
  if (sweep.length) groups.push({ group: 'syn-1m and its user prefixes (same generator, same catalogue)', series: growthOf([...sweep, ...syn1m]) });
  const syn = datasets.filter((d) => d.name.startsWith('syn-'));
  if (syn.length > 1) groups.push({ group: 'synthetic scale steps (syn-100k, syn-1m, syn-10m when run)', series: growthOf(syn) });
  groups.push({ group: 'all data sets (different shapes)', series: growthOf(datasets) });
  return groups;
}

/** Fit-time and memory series against interactions and W, with log-log slopes. */
export function growthOf(datasets: DatasetResult[]): GrowthSeries[] {
  const defs: Array<{ name: string; unit: 's' | 'MiB'; get: (d: DatasetResult) => number | undefined }> = [
    { name: 'migrec item-kNN fit, 1 thread', unit: 's', get: (d) => num(d.peers, 'migrec', '1', 'similarity_s') },
    { name: 'migrec item-kNN fit, 2 threads', unit: 's', get: (d) => num(d.peers, 'migrec', '2', 'similarity_s') },
    { name: 'scipy item-kNN fit', unit: 's', get: (d) => num(d.peers, 'scipy', 'scipy_fit_s') },
    { name: 'C yard-stick fit (best)', unit: 's', get: (d) => num(d.peers, 'c_ref', 'best_s') },
    { name: 'migrec peak RSS (fit + scoring, 1 thread)', unit: 'MiB', get: (d) => num(d.peers, 'migrec', '1', 'peak_rss_mb') },
    { name: 'migrec peak RSS (fit + scoring, 2 threads)', unit: 'MiB', get: (d) => num(d.peers, 'migrec', '2', 'peak_rss_mb') },
  ];
  return defs.map(({ name, unit, get }) => {
    const points: GrowthPoint[] = [];
    for (const d of datasets) {
      const size = sizeOf(d);
      const value = get(d);
      if (size && value !== undefined && value > 0) points.push({ dataset: d.name, nnz: size.nnz, W: size.W, value });
    }
    points.sort((a, b) => a.nnz - b.nnz);
    return {
      name,
      unit,
      points,
      slope_vs_nnz: logLogSlope(points.map((p) => p.nnz), points.map((p) => p.value)),
      slope_vs_W: logLogSlope(points.map((p) => p.W), points.map((p) => p.value)),
    };
  });
}

/** The metric rows of a `migrec eval --json` output, keyed `model/domain/segment`. */
export function qualityRows(q: Raw | null): Map<string, Raw> {
  const rows = new Map<string, Raw>();
  const list = q && Array.isArray(q.results) ? (q.results as Raw[]) : [];
  for (const r of list) rows.set(`${r.model}/${r.domain}/${r.segment}`, r);
  return rows;
}

/** Metric names of an eval row (everything with an `@`). */
export function metricKeys(r: Raw): string[] {
  return Object.keys(r).filter((k) => k.includes('@'));
}

/** Whether two eval outputs give exactly the same metric values. */
export function qualityDiff(a: Raw, b: Raw): { identical: boolean; compared: number; differences: string[] } {
  const ra = qualityRows(a);
  const rb = qualityRows(b);
  const differences: string[] = [];
  let compared = 0;
  for (const [key, row] of rb) {
    const old = ra.get(key);
    if (!old) continue;
    for (const m of metricKeys(row)) {
      compared++;
      if (old[m] !== row[m]) differences.push(`${key} ${m}: ${String(old[m])} -> ${String(row[m])}`);
    }
  }
  return { identical: differences.length === 0 && compared > 0, compared, differences: differences.slice(0, 20) };
}

/** One same-run ratio in this run and in a previous one. */
export interface RatioChange {
  dataset: string;
  ratio: string;
  previous: number;
  now: number;
}

/** The peers' ratios (ours / peer, same run) present in both runs. */
export function ratioChanges(prev: BenchResults, cur: BenchResults): RatioChange[] {
  const rows: RatioChange[] = [];
  for (const d of cur.datasets) {
    const p = prev.datasets.find((x) => x.name === d.name);
    const a = obj(p?.peers, 'ratios');
    const b = obj(d.peers, 'ratios');
    if (!a || !b) continue;
    for (const [k, v] of Object.entries(b)) {
      if (typeof v === 'number' && typeof a[k] === 'number' && /median_vs_scipy|best_vs_c/.test(k)) rows.push({ dataset: d.name, ratio: k, previous: a[k] as number, now: v });
    }
  }
  return rows;
}

/** Spread of repeated timings: (max - min) / median, or undefined with fewer than two runs. */
export function spread(runs: unknown): number | undefined {
  if (!Array.isArray(runs) || runs.length < 2 || !runs.every((x) => typeof x === 'number')) return undefined;
  const s = [...(runs as number[])].sort((x, y) => x - y);
  const m = s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return (s[s.length - 1] - s[0]) / m;
}

/** Verdict on one target of issue 3. */
export interface TargetVerdict {
  id: string;
  target: string;
  /** `met`, `missed`, or `not measured`. */
  status: 'met' | 'missed' | 'not measured';
  /** The measured figure(s), as printed. */
  measured: string;
  /** The load on the machine while it was measured. */
  load: string;
  note?: string;
}

/** "others 0.95 of 2 cores (machine 100 % busy)", from one or more readings. */
export function describeLoad(cores: number, ...readings: Array<Raw | undefined>): string {
  const parts = readings
    .filter((r): r is Raw => !!r)
    .map((r) => {
      const oc = num(r, 'other_cores');
      const mb = num(r, 'machine_busy');
      return oc === undefined ? 'unknown' : `others ${oc.toFixed(2)} of ${cores} cores (machine ${Math.round((mb ?? 0) * 100)} % busy)`;
    });
  return parts.length ? parts.join('; ') : 'unknown';
}

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);

/** Judge the five targets of issue 3 from the results. */
export function targets(r: BenchResults): TargetVerdict[] {
  const cores = r.machine.cores;
  const ds = (name: string) => r.datasets.find((d) => d.name === name);
  const out: TargetVerdict[] = [];

  // 1. syn-1m fit <= 0.15x scipy, same run.
  {
    const d = ds('syn-1m');
    const sp = num(d?.peers, 'scipy', 'scipy_fit_s');
    const cands = ['1', '2']
      .map((t) => ({ t, s: num(d?.peers, 'migrec', t, 'similarity_s') }))
      .filter((c): c is { t: string; s: number } => c.s !== undefined);
    if (sp === undefined || cands.length === 0) {
      out.push({ id: 'fit-vs-scipy', target: 'syn-1m, k=50: item-kNN fit <= 0.15x scipy (same run)', status: 'not measured', measured: '-', load: '-' });
    } else {
      const best = cands.reduce((a, b) => (b.s < a.s ? b : a));
      const ratio = best.s / sp;
      out.push({
        id: 'fit-vs-scipy',
        target: 'syn-1m, k=50: item-kNN fit <= 0.15x scipy (same run)',
        status: ratio <= 0.15 ? 'met' : 'missed',
        measured: `${f3(ratio)}x (${best.t} thread${best.t === '1' ? '' : 's'} ${f3(best.s)} s vs scipy ${f3(sp)} s, medians; ${cands.map((c) => `${c.t} thr ${f3(c.s / sp)}x`).join(', ')})`,
        load: describeLoad(cores, obj(d?.peers, 'migrec', best.t, 'load'), obj(d?.peers, 'scipy', 'load')),
        note: ratio <= 0.15 ? undefined : `missed by ${f2(ratio / 0.15)}x`,
      });
    }
  }
  // 2. 1 worker within 1.5x of the C yard-stick.
  {
    const d = ds('syn-1m');
    const c = num(d?.peers, 'c_ref', 'best_s');
    const best1 = num(d?.peers, 'migrec', '1', 'min_s');
    const med1 = num(d?.peers, 'migrec', '1', 'similarity_s');
    if (c === undefined || best1 === undefined || med1 === undefined) {
      out.push({ id: 'fit-vs-c', target: 'syn-1m, k=50, 1 worker: within 1.5x of the C yard-stick', status: 'not measured', measured: '-', load: '-' });
    } else {
      const ratio = best1 / c;
      out.push({
        id: 'fit-vs-c',
        target: 'syn-1m, k=50, 1 worker: within 1.5x of the C yard-stick',
        status: ratio <= 1.5 ? 'met' : 'missed',
        measured: `${f3(ratio)}x best vs best (${f3(best1)} s vs ${f3(c)} s); median vs C best ${f3(med1 / c)}x`,
        load: describeLoad(cores, obj(d?.peers, 'migrec', '1', 'load'), obj(d?.peers, 'c_ref', 'load')),
        note: ratio <= 1.5 ? undefined : `missed by ${f2(ratio / 1.5)}x`,
      });
    }
  }
  // 3. syn-10m, 2 workers: <= 4 s and peak RSS <= 1 GiB.
  {
    const d = ds('syn-10m');
    const s = num(d?.peers, 'migrec', '2', 'similarity_s');
    const rss = num(d?.peers, 'migrec', '2', 'peak_rss_mb');
    const target = 'syn-10m, k=50, 2 workers: fit <= 4 s and peak RSS <= 1 GiB';
    if (s === undefined || rss === undefined) {
      out.push({ id: 'syn10m', target, status: 'not measured', measured: r.mode === 'quick' ? 'skipped by --quick' : 'no measurement', load: '-' });
    } else {
      const ok = s <= 4 && rss <= 1024;
      out.push({
        id: 'syn10m',
        target,
        status: ok ? 'met' : 'missed',
        measured: `${f3(s)} s (${f3(s / 4)}x the limit), peak RSS ${rss} MiB (${f2(rss / 1024)}x 1 GiB)`,
        load: describeLoad(cores, obj(d?.peers, 'migrec', '2', 'load')),
      });
    }
  }
  // 4. recommend >= 200k users/s with 2 workers from the syn-10m model.
  {
    const d = ds('syn-10m');
    const rate = num(d?.peers, 'migrec', '2', 'recommend_users_per_s');
    const lib = num(d?.library, 'itemknn', '2', 'recommend_users_per_s');
    const target = 'recommend top-10 from the syn-10m model, 2 workers: >= 200k users/s';
    if (rate === undefined) {
      const d1 = ds('syn-1m');
      const r1 = num(d1?.peers, 'migrec', '2', 'recommend_users_per_s');
      const l1 = num(d1?.library, 'itemknn', '2', 'recommend_users_per_s');
      out.push({
        id: 'recommend',
        target,
        status: 'not measured',
        measured: `${r.mode === 'quick' ? 'syn-10m skipped by --quick' : 'no syn-10m measurement'}${r1 !== undefined ? `; on syn-1m: pool scoring ${r1.toLocaleString('en-US')} users/s, recommendBatch ${l1 !== undefined ? l1.toLocaleString('en-US') : '-'} users/s` : ''}`,
        load: describeLoad(cores, obj(d1?.peers, 'migrec', '2', 'load'), obj(d1?.library, 'itemknn', '2', 'recommend_load')),
      });
    } else {
      out.push({
        id: 'recommend',
        target,
        status: rate >= 200_000 ? 'met' : 'missed',
        measured: `${f2(rate / 200_000)}x: pool scoring ${rate.toLocaleString('en-US')} users/s; recommendBatch (public API, ids in and out) ${lib !== undefined ? `${lib.toLocaleString('en-US')} users/s (${f2(lib / 200_000)}x)` : '-'}`,
        load: describeLoad(cores, obj(d?.peers, 'migrec', '2', 'load'), obj(d?.library, 'itemknn', '2', 'recommend_load')),
      });
    }
  }
  // 5. dense scoring >= 8x the TS reference.
  {
    const ref = num(r.micro, 'speedup_wasm_over_ref', 'scoreDense');
    const plain = num(r.micro, 'speedup_wasm_over_ref', 'scoreDense vs plain TS loop');
    const target = 'dense scoring kernel: >= 8x the plain TS reference';
    if (ref === undefined) out.push({ id: 'dense', target, status: 'not measured', measured: '-', load: '-' });
    else {
      out.push({
        id: 'dense',
        target,
        // Judged on the slower of the two comparisons.
        status: Math.min(ref, plain ?? ref) >= 8 ? 'met' : 'missed',
        measured: `${f2(ref)}x the TS reference twin${plain !== undefined ? `; ${f2(plain)}x a plain TS loop (f64 dot, small heap)` : ''}`,
        load: describeLoad(cores, obj(r.micro, 'load')),
      });
    }
  }
  return out;
}
