/**
 * docs/benchmarks.md and its SVG charts, generated from one results file (bench/results/*.json).
 * `renderReport` is pure (results in, text out); `writeReport` writes the files. Never edit the
 * generated files by hand: re-run `npm run bench` or `npx tsx bench/run.ts --report-only FILE`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  describeLoad,
  metricKeys,
  num,
  obj,
  qualityRows,
  sizeOf,
  spread,
  targets,
  type BenchResults,
  type DatasetResult,
  type Raw,
} from './model.js';
import { compact, groupedBarChart, logLogChart, type LineSeries } from './svg.js';

/** One generated chart. */
export interface Chart {
  /** File name under docs/. */
  file: string;
  /** Alt text. */
  alt: string;
  svg: string;
}

/** The generated report. */
export interface Report {
  markdown: string;
  charts: Chart[];
  /** The short headline (also printed by the runner, and the table the README shows). */
  headline: string;
}

const s3 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));
const s2 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
const int = (x: number | undefined) => (x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(3)}x`);
const oc = (l: Raw | undefined) => {
  const v = num(l, 'other_cores');
  return v === undefined ? '-' : v.toFixed(2);
};

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function errorOf(o: Raw | null | undefined): string | undefined {
  return o && typeof o.error === 'string' ? o.error : undefined;
}

/** The headline block: what users ask first, each figure with the load while it was measured. */
function headline(r: BenchResults): string {
  const cores = r.machine.cores;
  const d1 = r.datasets.find((d) => d.name === 'syn-1m');
  const lines: string[] = [];
  const m1 = obj(d1?.peers, 'migrec', '1');
  const m2 = obj(d1?.peers, 'migrec', '2');
  const sp = obj(d1?.peers, 'scipy');
  const c = obj(d1?.peers, 'c_ref');
  const rows: string[][] = [];
  if (m1 || m2 || sp || c) {
    rows.push(
      ['syn-1m item-kNN fit (k=50), migrec 1 thread', `${s3(num(m1, 'similarity_s'))} s`, `${ratio(num(m1, 'similarity_s'), num(sp, 'scipy_fit_s'))} scipy, ${ratio(num(m1, 'min_s'), num(c, 'best_s'))} C (best vs best)`, oc(obj(m1, 'load'))],
      ['syn-1m item-kNN fit (k=50), migrec 2 threads', `${s3(num(m2, 'similarity_s'))} s`, `${ratio(num(m2, 'similarity_s'), num(sp, 'scipy_fit_s'))} scipy`, oc(obj(m2, 'load'))],
      ['syn-1m item-kNN fit, scipy (same run)', `${s3(num(sp, 'scipy_fit_s'))} s`, '1x', oc(obj(sp, 'load'))],
      ['syn-1m item-kNN fit, C yard-stick 1 thread (best)', `${s3(num(c, 'best_s'))} s`, `${ratio(num(c, 'best_s'), num(sp, 'scipy_fit_s'))} scipy`, oc(obj(c, 'load'))],
    );
  }
  for (const t of ['1', '2']) {
    const lib = obj(d1?.library, 'itemknn', t);
    if (lib) {
      rows.push([`recommendBatch top-10, ${int(num(lib, 'recommend_users'))} users, syn-1m item-kNN model, ${t} thread${t === '1' ? '' : 's'}`, `${int(num(lib, 'recommend_users_per_s'))} users/s`, `${s3(num(lib, 'recommend_s'))} s`, oc(obj(lib, 'recommend_load'))]);
    }
  }
  const d10 = r.datasets.find((d) => d.name === 'syn-10m');
  const t10 = obj(d10?.peers, 'migrec', '2');
  if (t10) rows.push(['syn-10m item-kNN fit, migrec 2 threads', `${s3(num(t10, 'similarity_s'))} s`, `peak RSS ${int(num(t10, 'peak_rss_mb'))} MiB; ${ratio(num(t10, 'similarity_s'), num(d10?.peers, 'scipy', 'scipy_fit_s'))} scipy`, oc(obj(t10, 'load'))]);
  const dense = num(r.micro, 'speedup_wasm_over_ref', 'scoreDense');
  if (dense !== undefined) rows.push(['dense scoring kernel (wasm SIMD) vs TS reference', `${s2(dense)}x`, `${s2(num(r.micro, 'speedup_wasm_over_ref', 'scoreDense vs plain TS loop'))}x a plain TS loop`, oc(obj(r.micro, 'load'))]);
  lines.push(table(['measurement', 'figure', 'ratio', `other load (cores of ${cores})`], rows));
  return lines.join('\n');
}

function peersSection(r: BenchResults): string {
  const rows: string[][] = [];
  for (const d of r.datasets) {
    const size = sizeOf(d);
    const m1 = obj(d.peers, 'migrec', '1');
    const m2 = obj(d.peers, 'migrec', '2');
    const sp = obj(d.peers, 'scipy');
    const c = obj(d.peers, 'c_ref');
    if (errorOf(d.peers)) {
      rows.push([d.name, `error: ${errorOf(d.peers)}`, '', '', '', '', '', '', '', '', '']);
      continue;
    }
    rows.push([
      d.name,
      size ? `${int(size.users)} x ${int(size.items)}` : '-',
      size ? compact(size.nnz) : '-',
      size ? compact(size.W) : '-',
      `${s3(num(m1, 'similarity_s'))} (min ${s3(num(m1, 'min_s'))})`,
      `${s3(num(m2, 'similarity_s'))} (min ${s3(num(m2, 'min_s'))})`,
      errorOf(sp) ? 'n/a' : s3(num(sp, 'scipy_fit_s')),
      errorOf(c) ? 'n/a' : s3(num(c, 'best_s')),
      `${ratio(num(m1, 'similarity_s'), num(sp, 'scipy_fit_s'))} / ${ratio(num(m2, 'similarity_s'), num(sp, 'scipy_fit_s'))}`,
      `${ratio(num(m1, 'min_s'), num(c, 'best_s'))} / ${ratio(num(m2, 'min_s'), num(c, 'best_s'))}`,
      `${s2(num(m1, 'ns_per_W'))} / ${s2(num(m2, 'ns_per_W'))}`,
      `${int(num(m1, 'peak_rss_mb'))} / ${int(num(m2, 'peak_rss_mb'))}`,
      `${oc(obj(m1, 'load'))} / ${oc(obj(m2, 'load'))} / ${oc(obj(sp, 'load'))} / ${oc(obj(c, 'load'))}`,
    ]);
  }
  return table(
    ['data', 'users x items', 'interactions', 'W', 'migrec 1 thr s (median, min)', 'migrec 2 thr s', 'scipy s (median)', 'C s (best)', 'vs scipy 1 / 2 thr (medians)', 'vs C 1 / 2 thr (best vs best)', 'ns per W 1 / 2 thr', 'peak RSS MiB 1 / 2 thr', 'other load, cores: migrec 1 / 2, scipy, C'],
    rows,
  );
}

/** Signed percentage, rounded: "+7 %", "-38 %", "0 %". */
function pct(x: number): string {
  const v = Math.round(x * 100);
  return `${v > 0 ? '+' : ''}${v === 0 ? 0 : v} %`;
}

function noiseSection(r: BenchResults): string {
  const rows: string[][] = [];
  for (const d of r.datasets) {
    const sp = (v: number | undefined) => (v === undefined ? '-' : `${(v * 100).toFixed(0)} %`);
    rows.push([d.name, sp(spread(obj(d.peers, 'migrec', '1')?.runs_s)), sp(spread(obj(d.peers, 'migrec', '2')?.runs_s)), sp(spread(obj(d.peers, 'scipy')?.scipy_fit_runs))]);
  }
  const lines = ['Within this run, the spread of the repeated fits, (max - min) / median:', '', table(['data', 'migrec 1 thread', 'migrec 2 threads', 'scipy'], rows), ''];
  const prev = r.ratios_vs_previous;
  if (prev) {
    lines.push(
      `Against the previous run (${prev.file}, ${prev.date}), the same-run ratios (ours / peer):`,
      '',
      table(['data', 'ratio', 'previous', 'now', 'change'], prev.rows.map((x) => [x.dataset, x.ratio.replace(/_/g, ' '), x.previous.toFixed(3), x.now.toFixed(3), pct((x.now - x.previous) / x.previous)])),
    );
  } else lines.push('No earlier results file to compare the ratios with.');
  return lines.join('\n');
}

function throughputSection(r: BenchResults): string {
  const rows: string[][] = [];
  for (const d of r.datasets) {
    const p1 = obj(d.peers, 'migrec', '1');
    const p2 = obj(d.peers, 'migrec', '2');
    const l1 = obj(d.library, 'itemknn', '1');
    const l2 = obj(d.library, 'itemknn', '2');
    const u = obj(d.library, 'userknn');
    const c = obj(d.peers, 'c_ref');
    rows.push([
      d.name,
      `${int(num(p1, 'recommend_users_per_s'))} / ${int(num(p2, 'recommend_users_per_s'))} (${int(num(p1, 'recommend_users'))} users)`,
      `${int(num(l1, 'recommend_users_per_s'))} / ${int(num(l2, 'recommend_users_per_s'))} (${int(num(l1, 'recommend_users'))} users)`,
      `${int(num(u, 'recommend_users_per_s'))} (${int(num(u, 'recommend_users'))} users, ${int(num(u, 'threads'))} thr)`,
      `${int(num(c, 'rec_users_per_s'))} (${int(num(c, 'rec_users'))} users)`,
      `${oc(obj(p1, 'load'))} / ${oc(obj(p2, 'load'))} / ${oc(obj(l1, 'recommend_load'))} / ${oc(obj(l2, 'recommend_load'))}`,
    ]);
  }
  return table(['data', 'item kNN, pool scoring (kernel), users/s 1 / 2 thr', 'item kNN, `recommendBatch` (public API), users/s 1 / 2 thr', 'user kNN `recommendBatch`, users/s', 'C yard-stick, 1 thread, users/s', 'other load, cores: scoring 1 / 2, recommendBatch 1 / 2'], rows);
}

function librarySection(r: BenchResults): string {
  const rows: string[][] = [];
  for (const d of r.datasets) {
    const L = d.library;
    if (!L) continue;
    if (errorOf(L)) {
      rows.push([d.name, `error: ${errorOf(L)}`, '', '', '', '', '', '']);
      continue;
    }
    const dom = obj(L, 'domain');
    rows.push([
      d.name,
      int(num(L, 'rows')),
      `${s3(num(L, 'load', 'load_s'))} + ${s3(num(L, 'load', 'dataset_s'))}`,
      int(num(L, 'load', 'rss_mb')),
      `${String(dom?.name ?? '-')}: ${int(num(dom, 'items'))} items, W ${compact(num(dom, 'W') ?? 0)}`,
      `${s3(num(L, 'itemknn', '1', 'fit_s'))} / ${s3(num(L, 'itemknn', '2', 'fit_s'))}`,
      s3(num(L, 'userknn', 'fit_s')),
      int(num(L, 'peak_rss_mb')),
      `${oc(obj(L, 'load', 'load'))} / ${oc(obj(L, 'itemknn', '1', 'fit_load'))} / ${oc(obj(L, 'itemknn', '2', 'fit_load'))}`,
    ]);
  }
  return table(['data', 'rows', 'load s (`loadEvents` + `Dataset`)', 'RSS after load MiB', 'domain measured', '`ItemKnn.fit` s, 1 / 2 thr (all domains)', '`UserKnn.fit` s', 'peak RSS MiB', 'other load, cores: load / fit 1 / fit 2'], rows);
}

function trainingSection(r: BenchResults): string {
  const t = obj(r.quality, 'timings');
  if (!t) return `_Not measured${errorOf(r.quality) ? `: ${errorOf(r.quality)}` : ''}._`;
  const kind: Record<string, string> = { mf: 'transfer (per-domain MF)', emcdr: 'transfer (EMCDR)', ptupcdr: 'transfer (PTUPCDR-style)', migrec: 'fused (all components)', bridge: 'cross-domain kNN', itemknn: 'item kNN', userknn: 'user kNN', popularity: 'baseline' };
  const rows = Object.entries(t).map(([m, v]) => [m, kind[m] ?? '', s3(num(v, 'fit_s')), s3(num(v, 'score_s'))]);
  return `${table(['model', 'kind', 'fit s (with tuning on valid)', 'score s (all test users)'], rows)}\n\nOther load during the whole eval run: ${describeLoad(r.machine.cores, obj(r.quality, 'step_load'))}.`;
}

function qualitySection(r: BenchResults): string {
  const q = r.quality;
  if (!q || errorOf(q)) return `_Not measured${errorOf(q) ? `: ${errorOf(q)}` : ''}._`;
  const rows = [...qualityRows(q).values()];
  if (rows.length === 0) return '_No rows._';
  const metrics = metricKeys(rows[0]);
  // 'all' rows are left out where they equal the cold rows (every test user is cold).
  const key = (x: Raw) => metrics.map((m) => x[m]).join(',');
  const cold = new Map(rows.filter((x) => x.segment === 'cold').map((x) => [`${x.model}/${x.domain}`, key(x)]));
  const shown = rows.filter((x) => x.segment !== 'all' || cold.get(`${x.model}/${x.domain}`) !== key(x));
  const body = shown.map((x) => [String(x.model), String(x.domain), String(x.segment), String(x.users), ...metrics.map((m) => (typeof x[m] === 'number' ? (x[m] as number).toFixed(4) : '-'))]);
  const split = obj(q, 'split');
  const lines = [
    `\`${String(q.command ?? 'migrec eval')}\` on ${String(q.data ?? '')}: ${split ? `train ${int(num(split, 'train'))}, valid ${int(num(split, 'valid'))}, test ${int(num(split, 'test'))} rows` : ''}. Full ranking of every training item of the target domain; 'all' rows are shown only where they differ from 'cold'.`,
    '',
    table(['model', 'domain', 'segment', 'users', ...metrics], body),
  ];
  const prev = r.quality_vs_previous;
  const same = prev?.same_sources === true ? 'same sources' : prev?.same_sources === false ? 'the sources (src/, assembly/) changed in between' : 'sources not compared';
  lines.push('', prev ? `Reproducibility: ${prev.compared} metric values compared with the previous run (${prev.file}, ${prev.date}; ${same}): ${prev.identical ? '**identical**' : `**${prev.differences.length}${prev.differences.length === 20 ? '+' : ''} differ**: ${prev.differences.join('; ')}`}.` : 'Reproducibility: no earlier results file to compare with.');
  return lines.join('\n');
}

function microSection(r: BenchResults): string {
  const m = r.micro;
  if (!m || errorOf(m)) return `_Not measured${errorOf(m) ? `: ${errorOf(m)}` : ''}._`;
  const tasks = Array.isArray(m.tasks) ? (m.tasks as Raw[]) : [];
  const inputs = obj(m, 'inputs') ?? {};
  const sp = obj(m, 'speedup_wasm_over_ref') ?? {};
  const rows = tasks.map((t) => {
    const name = String(t.name);
    const kernel = name.split(' ')[0];
    const isWasm = name.endsWith('wasm');
    return [name, s3(num(t, 'mean_ms')), `± ${s2(num(t, 'rme_pct'))} %`, int(num(t, 'samples')), isWasm ? `${s2(num(sp, kernel))}x` : '', isWasm ? String(inputs[kernel] ?? '') : ''];
  });
  const f32 = num(sp, 'scoreDense 16-bit vs f32');
  const f32Line = f32 !== undefined ? ` The dense kernel's 16-bit path against its f32 path (same lists): ${s2(f32)}x.` : '';
  return `${table(['task', 'mean ms', 'rme', 'samples', 'wasm speed-up over the TS reference', 'input'], rows)}\n\nDense scoring against a plain TypeScript loop (f64 dot, small heap): ${s2(num(sp, 'scoreDense vs plain TS loop'))}x.${f32Line} Other load during the micro-benchmarks: ${describeLoad(r.machine.cores, obj(m, 'load'))}.`;
}

function growthSection(r: BenchResults): string {
  const parts: string[] = [];
  for (const g of r.growth ?? []) {
    const rows = g.series.filter((s) => s.points.length > 1).map((s) => [s.name, s.unit, s.points.map((p) => `${p.dataset} ${s.unit === 's' ? p.value.toFixed(3) : Math.round(p.value)}`).join(', '), s2(s.slope_vs_nnz ?? undefined), s2(s.slope_vs_W ?? undefined)]);
    parts.push(`**${g.group}**`, '', table(['series', 'unit', 'points (data set value)', 'log-log slope vs interactions', 'log-log slope vs W'], rows), '');
  }
  const sweep = (r.sweep ?? []).map((d) => {
    const z = sizeOf(d);
    return z ? `${d.name}: ${compact(z.nnz)} interactions, W ${compact(z.W)}` : d.name;
  });
  parts.push(
    `Slopes are least-squares fits of log(value) on log(size); 1 is linear growth. ${sweep.length ? `The prefixes are the first users of syn-1m.csv (${sweep.join('; ')}), fitted with 1 thread next to scipy and the C yard-stick. ` : ''}Points from data sets of different shapes (dense MovieLens, long-tailed synthetic sets) mix size with shape, so read the first groups for growth. Peak RSS is the whole Node process (runtime, the CSV reader's buffers, the matrix, the neighbour lists and the scoring output), not the kernel scratch alone.`,
  );
  return parts.join('\n');
}

function charts(r: BenchResults): Chart[] {
  const out: Chart[] = [];
  // Fit time on the synthetic family (same generator): the scale steps and the syn-1m prefixes.
  const syn = [...r.datasets.filter((d) => d.name.startsWith('syn-')), ...(r.sweep ?? [])];
  const named = new Set(r.datasets.map((d) => d.name));
  const pt = (d: DatasetResult, v: number | undefined) => {
    const s = sizeOf(d);
    return s && v !== undefined && v > 0 ? [{ x: s.nnz, y: v, label: named.has(d.name) ? d.name : undefined }] : [];
  };
  const series: LineSeries[] = [
    { name: 'migrec, 1 thread (median)', points: syn.flatMap((d) => pt(d, num(d.peers, 'migrec', '1', 'similarity_s'))) },
    { name: 'migrec, 2 threads (median)', points: syn.flatMap((d) => pt(d, num(d.peers, 'migrec', '2', 'similarity_s'))) },
    { name: 'scipy (median)', points: syn.flatMap((d) => pt(d, num(d.peers, 'scipy', 'scipy_fit_s'))), dashed: true },
    { name: 'C yard-stick, 1 thread (best)', points: syn.flatMap((d) => pt(d, num(d.peers, 'c_ref', 'best_s'))), dashed: true },
  ];
  out.push({
    file: 'bench-fit-time.svg',
    alt: 'Item-kNN fit time against interactions on the synthetic data, log-log, for migrec (1 and 2 threads), scipy and the C yard-stick',
    svg: logLogChart({ title: 'Item-kNN fit time (k = 50) vs interactions, synthetic data', xLabel: 'interactions (log scale); unlabelled points are prefixes of syn-1m (its first 1/8, 1/4, 1/2 users)', yLabel: 'fit time, seconds (log scale)', series, yFormat: (v) => `${compact(v)} s` }),
  });
  const tp = r.datasets.filter((d) => num(d.peers, 'migrec', '1', 'recommend_users_per_s') !== undefined || num(d.library, 'itemknn', '1', 'recommend_users_per_s') !== undefined);
  out.push({
    file: 'bench-recommend.svg',
    alt: 'Top-10 recommendation throughput in users per second per data set: pool scoring and recommendBatch with 1 and 2 threads, and the C yard-stick',
    svg: groupedBarChart({
      title: 'Top-10 recommendation throughput (item kNN)',
      groups: tp.map((d) => d.name),
      series: ['pool scoring, 1 thread', 'pool scoring, 2 threads', 'recommendBatch, 1 thread', 'recommendBatch, 2 threads', 'C yard-stick, 1 thread'],
      values: tp.map((d) => [
        num(d.peers, 'migrec', '1', 'recommend_users_per_s'),
        num(d.peers, 'migrec', '2', 'recommend_users_per_s'),
        num(d.library, 'itemknn', '1', 'recommend_users_per_s'),
        num(d.library, 'itemknn', '2', 'recommend_users_per_s'),
        num(d.peers, 'c_ref', 'rec_users_per_s'),
      ]),
      yLabel: 'users per second',
      reference: { value: 200_000, label: 'target 200k users/s (2 workers, syn-10m)' },
      width: 860,
    }),
  });
  const qrows = [...qualityRows(r.quality).values()].filter((x) => x.segment === 'cold');
  const models = [...new Set(qrows.map((x) => String(x.model)))];
  const domains = [...new Set(qrows.map((x) => String(x.domain)))];
  const series2 = domains.flatMap((dm) => [`${dm} NDCG@10`, `${dm} HR@10`]);
  out.push({
    file: 'bench-quality.svg',
    alt: 'NDCG@10 and HR@10 of every model on the cold users of Amazon Toys and Video Games',
    svg: groupedBarChart({
      title: 'Quality on Amazon Toys <-> Video Games, cold users',
      groups: models,
      series: series2,
      values: models.map((m) =>
        domains.flatMap((dm) => {
          const row = qrows.find((x) => x.model === m && x.domain === dm);
          const v = (k: string) => (row && typeof row[k] === 'number' ? (row[k] as number) : undefined);
          return [v('ndcg@10'), v('hr@10')];
        }),
      ),
      yLabel: 'metric value',
      format: (v) => v.toFixed(3),
      width: 1000,
    }),
  });
  return out;
}

/** Render the report from results; `source` names the results file in the text. */
export function renderReport(r: BenchResults, source: string): Report {
  const cs = charts(r);
  const head = headline(r);
  const verdicts = targets(r);
  const md = [
    '<!-- GENERATED by `npm run bench` (bench/report/write.ts) from the results file named below. Do not edit by hand. -->',
    '# migrec benchmarks',
    '',
    `Generated from \`bench/results/${basename(source)}\` (${r.mode} run of ${r.date}, commit ${r.commit ?? 'unknown'}${r.dirty ? ' with uncommitted changes in src/' : ''}; the whole run took ${r.wall_s.toFixed(0)} s).`,
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memory_gib} GiB, Node ${r.machine.node}; load average at the start ${r.loadavg_before.join(' ')}.`,
    '',
    'These machines are shared. Next to every figure is the **other load**: the CPU time used by other processes while it was measured (from /proc/stat, minus this run\'s own processes), in cores. Only ratios measured side by side in the same run mean much; with the other load near a whole core, two-thread figures are not better than one-thread ones.',
    '',
    '## Headline',
    '',
    head,
    '',
    '## Targets of issue 3',
    '',
    table(['target', 'status', 'measured', 'other load while measured'], verdicts.map((v) => [v.target, `**${v.status}**${v.note ? ` (${v.note})` : ''}`, v.measured, v.load])),
    '',
    '## Item-kNN fit against the peers (same file, same run)',
    '',
    'migrec: `bench/knn.ts` (`itemKnn` on the pool: transpose, norms, sharded cosine top-k; pool start and CSV load not counted), median of the repeats after a warm-up fit. scipy: `../shared/peers/peer_itemknn.py` (normalise columns, sparse `Xn.T @ Xn`, per-row `argpartition`). C: `../shared/peers/knn_ref.c` compiled with `gcc -O2 -march=native`, best of its repeats. Ratios < 1 mean migrec is faster. Each data set is read by all three from the same `user,item` file.',
    '',
    peersSection(r),
    '',
    `![${cs[0].alt}](${cs[0].file})`,
    '',
    '### Noise',
    '',
    noiseSection(r),
    '',
    '## Recommendation throughput',
    '',
    'Top-10 per user, seen items excluded. Pool scoring: `scoreSparse` on the kernel pool for up to 100,000 users spread over the user range (`bench/knn.ts`). `recommendBatch`: the public API with string ids in and out, on an `ItemKnn` model fitted with a pool of that many threads (`bench/library.ts`). The C yard-stick scores 10,000 users on one thread.',
    '',
    throughputSection(r),
    '',
    `![${cs[1].alt}](${cs[1].file})`,
    '',
    '## Library: load, fit, memory (public API)',
    '',
    librarySection(r),
    '',
    '## Transfer and fused training time (Amazon Toys <-> Video Games)',
    '',
    'From the timings of the quality run below (`migrec eval --json`); every fit includes its choices made on the validation file.',
    '',
    trainingSection(r),
    '',
    '## Quality',
    '',
    qualitySection(r),
    '',
    `![${cs[2].alt}](${cs[2].file})`,
    '',
    '## Micro-benchmarks: wasm kernels against their TypeScript reference',
    '',
    'tinybench, `bench/kernels.ts`, the same seeded inputs for both sides.',
    '',
    microSection(r),
    '',
    '## Cost growth',
    '',
    growthSection(r),
    '',
    // Figures from separate scripts (issue 14), kept by hand beside this generator.
    readFileSync(new URL('./issue14.md', import.meta.url), 'utf8').trim(),
    '',
    // `migrec serve` under load (issue 16, bench/serve.ts), kept by hand the same way.
    readFileSync(new URL('./serve.md', import.meta.url), 'utf8').trim(),
    '',
    '## Footprint',
    '',
    'Installed size of the packed package with its run-time dependencies (`npm pack`, then `npm install <tarball>` in an empty directory, `du -sh node_modules`; 2026-11-30): **70 MB, 22 packages** on `@tensorflow/tfjs-core` + `@tensorflow/tfjs-backend-wasm` with our own gradients (`src/models/gradients.ts`, commit fa9802c), against 312 MB and 79 packages with the `@tensorflow/tfjs` umbrella package (commit 3f5b957). Of the 70 MB, tfjs-core is 40 MB, tfjs-backend-wasm 14 MB and tfjs-backend-cpu (which the wasm backend imports) 12 MB. Measured by hand, not by `npm run bench`.',
    '',
    '## Reproduce',
    '',
    '```bash',
    'npm run build                 # the CLI and pool workers; bench steps run the sources through tsx',
    'npm run bench -- --quick      # everything but syn-10m; writes bench/results/<date>-quick.json and this page',
    'npm run bench                 # adds syn-10m (scipy needs about 5 GiB and a minute)',
    'npx tsx bench/run.ts --report-only bench/results/<file>.json   # regenerate this page only',
    '```',
    '',
  ].join('\n');
  return { markdown: md, charts: cs, headline: head };
}

/** Write docs/benchmarks.md and the charts; returns the paths written. */
export function writeReport(r: BenchResults, docsDir: string, source: string): string[] {
  const rep = renderReport(r, source);
  mkdirSync(docsDir, { recursive: true });
  const files = [join(docsDir, 'benchmarks.md')];
  writeFileSync(files[0], rep.markdown);
  for (const c of rep.charts) {
    const f = join(docsDir, c.file);
    writeFileSync(f, c.svg);
    files.push(f);
  }
  return files;
}

/** The headline table and the target verdicts as plain text, for the terminal. */
export function summary(r: BenchResults): string {
  const lines = [headline(r), ''];
  for (const v of targets(r)) lines.push(`target: ${v.target}: ${v.status.toUpperCase()}${v.note ? ` (${v.note})` : ''}: ${v.measured}; other load: ${v.load}`);
  return `${lines.join('\n')}\n`;
}
