/**
 * How the fused model scores a batch: per component, where its candidates come from (a sparse
 * kernel job over the model's matrices for item kNN, user kNN and the item bridge, a dense job on
 * the transfer models' user vectors, the popularity order, the user bridge's search and scoring,
 * or the lists the component's own scorer makes for the others), then the fusion of
 * fused-core.ts, in this thread (`score`, used by `recommend`) or in the pool's `fused` task, one
 * task per range of users (`scorePooled`). A component whose weight is 0 in every bucket of the
 * batch is not scored at all.
 *
 * When no batch user's rows changed since the fit (no folded-in behaviour), the sparse jobs read
 * the model's own matrices with the users' training row numbers: those arrays are shared with the
 * pool once and stay resident in the kernels across batches. Otherwise they read rows gathered for
 * the batch, as the components do.
 */
import { cap, iota, type ScoreFilter } from '../engine/exec.js';
import type { ModelData, UserBatch } from '../engine/rows.js';
import { getKernels, WasmKernels } from '../kernels/index.js';
import type { BackendName, CosineJob, Csr, DenseScoreJob, Kernels, SparseRows, SparseScoreJob, TopKRows } from '../kernels/types.js';
import { BridgeScorer } from '../models/bridge.js';
import { ItemKnnScorer } from '../models/itemknn.js';
import { PopularityScorer } from '../models/popularity.js';
import { hstack } from '../models/sparse.js';
import { UserKnnScorer } from '../models/userknn.js';
import { CrossScorer } from '../transfer/cross.js';
import type { FusedTask, SharedSource } from '../pool/fused-task.js';
import type { KernelPool } from '../pool/index.js';
import type { SharedSlots } from '../pool/protocol.js';
import { FusionScratch, fuseRange, type CandidateSource, type FusedBatch, type Runners } from './fused-core.js';
import { BUCKETS, bucketOf } from './gating.js';
import type { Component, TargetFusion } from './weights.js';

/** What a component contributes, before the batch is known. */
type Kind =
  | { kind: 'dense'; s: CrossScorer }
  | { kind: 'itemknn'; s: ItemKnnScorer }
  | { kind: 'userknn'; s: UserKnnScorer }
  | { kind: 'bridge-item'; s: BridgeScorer }
  | { kind: 'bridge-user'; s: BridgeScorer }
  | { kind: 'popularity'; s: PopularityScorer }
  | { kind: 'lists' };

/** Users per pool task: enough to amortise a task, small enough to balance two per thread. */
const MIN_TASK_USERS = 64;
const MAX_TASK_USERS = 2048;

/** The kernel backend a component's scorer was built with (a private field of the model scorers; only speed depends on it, not results). */
function backendOf(s: object): BackendName | 'auto' {
  return (s as { backend?: BackendName | 'auto' }).backend ?? 'auto';
}

/** One fused scorer's batch scoring: per-component kernel instances, the fusion scratch, cached tables. */
export class FusedRunner {
  private readonly scratch = new FusionScratch();
  private readonly kernels: Kernels[] = [];
  private readonly orders = new WeakMap<Float32Array, Uint32Array>();
  private readonly stacked = new Map<string, Csr>();

  constructor(
    private readonly data: ModelData,
    private readonly components: readonly Component[],
  ) {}

  private kindOf(c: Component, t: number): Kind {
    const s = c.scorer;
    if (s instanceof ItemKnnScorer) return { kind: 'itemknn', s };
    if (s instanceof UserKnnScorer) return { kind: 'userknn', s };
    if (s instanceof PopularityScorer) return { kind: 'popularity', s };
    if (s instanceof CrossScorer && s.pairs[t]?.length) return { kind: 'dense', s };
    if (s instanceof BridgeScorer && s.plans[t]?.variant === 'item' && s.plans[t]!.sim) return { kind: 'bridge-item', s };
    if (s instanceof BridgeScorer && s.plans[t]?.variant === 'user' && s.plans[t]!.xsT) return { kind: 'bridge-user', s };
    return { kind: 'lists' };
  }

  /** The popularity order of a domain's scores (as the popularity scorer ranks them). */
  private order(pop: Float32Array, backend: BackendName | 'auto'): Uint32Array {
    let o = this.orders.get(pop);
    if (!o) this.orders.set(pop, (o = getKernels(backend).topk(pop, pop.length).indices));
    return o;
  }

  /** The training rows of a bridge's sources side by side (cached per source list). */
  private stack(sources: readonly number[]): Csr {
    const key = sources.join(',');
    let m = this.stacked.get(key);
    if (!m) this.stacked.set(key, (m = hstack(sources.map((s) => this.data.matrices[s]))));
    return m;
  }

  /**
   * The batch description (sources undefined where a list must still be scored), the components
   * whose lists their own scorers make, and the user-kNN components that need neighbours gathered
   * for the batch.
   */
  private describe(f: TargetFusion, batch: UserBatch, t: number, n: number, per: number, filter: ScoreFilter) {
    const m = this.components.length;
    const users = batch.users;
    const nb = users.length;
    const tr = batch.rows(t);
    const srcRows = f.sources.map((s) => batch.rows(s));
    const buckets = new Uint8Array(nb);
    let present = 0;
    for (let b = 0; b < nb; b++) {
      let s = 0;
      for (const r of srcRows) s += r.indptr[b + 1] - r.indptr[b];
      buckets[b] = BUCKETS.indexOf(bucketOf(tr.indptr[b + 1] - tr.indptr[b], s));
      present |= 1 << buckets[b];
    }
    const weights = new Float64Array(BUCKETS.length * m);
    BUCKETS.forEach((q, i) => weights.set(f.weights[q], i * m));
    const active = this.components.map((_, c) => BUCKETS.some((_, q) => present & (1 << q) && weights[q * m + c] !== 0));
    const kinds = this.components.map((c) => this.kindOf(c, t));
    // Training mode: every batch user is a training user whose rows (target, and the item bridge's sources) are unchanged.
    let limit = this.data.nUsers;
    const domains = new Set([t]);
    kinds.forEach((k, c) => {
      if (!active[c]) return;
      if (k.kind === 'userknn') limit = Math.min(limit, k.s.known[t].nRows);
      if (k.kind === 'bridge-item') for (const s of k.s.plans[t]!.sources) domains.add(s);
    });
    const training = [...domains].every((d) => unchanged(this.data.matrices[d], batch.rows(d), users, limit));
    const rowOf = training ? users : iota(nb);
    const x = this.data.matrices[t];
    const sources: Array<CandidateSource | undefined> = new Array(m).fill(undefined);
    const gatherUsers: number[] = [];
    const lists: number[] = [];
    const k = cap(per, this.data.nItems[t]);
    kinds.forEach((kd, c) => {
      if (!active[c]) return;
      if (kd.kind === 'itemknn') sources[c] = { kind: 'sparse', userRows: training ? x : tr, sim: kd.s.table(t), k };
      else if (kd.kind === 'userknn') {
        if (training) sources[c] = { kind: 'sparse', userRows: kd.s.known[t], sim: x, k };
        else gatherUsers.push(c);
      } else if (kd.kind === 'bridge-item') {
        const plan = kd.s.plans[t]!;
        sources[c] = { kind: 'sparse', userRows: training ? this.stack(plan.sources) : hstack(plan.sources.map((s) => batch.rows(s))), sim: plan.sim!, k };
      } else if (kd.kind === 'bridge-user') {
        const self = Uint32Array.from(users, (u) => (u < this.data.nUsers ? u : 0xffffffff));
        sources[c] = { kind: 'bridge-user', ...kd.s.userSearchInputs(t, batch), self, target: x, k };
      } else if (kd.kind === 'dense') {
        const { vectors, items, dim } = kd.s.denseInputs(batch, t);
        sources[c] = { kind: 'dense', vectors, items, dim, k };
      } else if (kd.kind === 'popularity') sources[c] = { kind: 'popular', order: this.order(kd.s.pop[t], 'auto'), pop: kd.s.pop[t], k: per };
      else lists.push(c);
    });
    const fb: FusedBatch = {
      sources,
      rowOf,
      seen: filter.filterSeen ? (training ? x : tr) : undefined,
      allowed: filter.allowed,
      buckets,
      weights,
      scales: Float64Array.from(f.scales),
      boost: f.boost,
      n,
    };
    return { fb, sources, gatherUsers, lists, kinds, backend: firstBackend(kinds) };
  }

  /** Fused top-n of every batch user, in this thread. */
  score(f: TargetFusion, batch: UserBatch, t: number, n: number, per: number, filter: ScoreFilter): TopKRows {
    const { fb, sources, gatherUsers, lists, kinds, backend } = this.describe(f, batch, t, n, per, filter);
    const k = cap(per, this.data.nItems[t]);
    for (const c of gatherUsers) sources[c] = { kind: 'sparse', userRows: (kinds[c] as { s: UserKnnScorer }).s.neighboursOf(batch, t), sim: this.data.matrices[t], k };
    for (const c of lists) sources[c] = { kind: 'lists', lists: this.components[c].scorer.score(batch, t, per, filter) };
    const m = batch.users.length;
    const out: TopKRows = { k: n, counts: new Uint32Array(m), indices: new Uint32Array(m * n), scores: new Float32Array(m * n) };
    const run: Runners = {
      sparse: (c: number, job: SparseScoreJob, users: Uint32Array) => this.kernelsOf(c, backend).scoreSparse(job, users),
      dense: (c: number, job: DenseScoreJob, users: Uint32Array, vectors: Float32Array) => this.kernelsOf(c, backend).scoreDense(job, users, vectors),
      cosine: (c: number, job: CosineJob, start: number, end: number) => this.kernelsOf(c, backend).cosineTopK(job, start, end),
    };
    fuseRange(fb, 0, m, run, this.scratch, this.data.nItems[t], out);
    return out;
  }

  /**
   * Kernels of component c in this thread: its own wasm instance, so its inputs stay resident, and
   * its results are read (in fuseRange) before its next call, so they come as views.
   */
  private kernelsOf(c: number, backend: BackendName | 'auto'): Kernels {
    const k = getKernels(backend);
    if (!(k instanceof WasmKernels)) return k;
    return (this.kernels[c] ??= new WasmKernels(undefined, { viewOutputs: true }));
  }

  /** `score` on the pool: the lists other scorers make first (in parallel), then one `fused` task per range of users. */
  async scorePooled(f: TargetFusion, batch: UserBatch, t: number, n: number, per: number, filter: ScoreFilter, pool: KernelPool): Promise<TopKRows> {
    const { fb, sources, gatherUsers, lists, kinds, backend } = this.describe(f, batch, t, n, per, filter);
    const k = cap(per, this.data.nItems[t]);
    await Promise.all([
      ...gatherUsers.map(async (c) => {
        sources[c] = { kind: 'sparse', userRows: await (kinds[c] as { s: UserKnnScorer }).s.neighboursPooled(batch, t, pool), sim: this.data.matrices[t], k };
      }),
      ...lists.map(async (c) => {
        sources[c] = { kind: 'lists', lists: await this.components[c].scorer.scorePooled(batch, t, per, filter, pool) };
      }),
    ]);
    const m = batch.users.length;
    const out: SharedSlots = { k: n, counts: new Uint32Array(new SharedArrayBuffer(m * 4)), indices: new Uint32Array(new SharedArrayBuffer(m * n * 4)), scores: new Float32Array(new SharedArrayBuffer(m * n * 4)) };
    if (m === 0) return { k: n, counts: new Uint32Array(0), indices: new Uint32Array(0), scores: new Float32Array(0) };
    const shared = sources.map((s): SharedSource | null => {
      if (!s) return null;
      if (s.kind === 'sparse') return { kind: 'sparse', userRows: pool.shareRows(s.userRows), sim: pool.shareRows(s.sim, false), k: s.k };
      if (s.kind === 'popular') return { kind: 'popular', order: pool.share(s.order), pop: pool.share(s.pop), k: s.k };
      if (s.kind === 'dense') return { kind: 'dense', vectors: pool.share(s.vectors).array, items: pool.share(s.items), dim: s.dim, k: s.k };
      if (s.kind === 'bridge-user') {
        const { src, srcNorms, xsT, userNorms, self, target, kind, ...rest } = s;
        return {
          kind,
          ...rest,
          src: pool.shareRows(src),
          srcNorms: pool.share(srcNorms),
          xsT: pool.shareRows(xsT),
          userNorms: pool.share(userNorms),
          self: pool.share(self),
          target: pool.shareRows(target, false),
        };
      }
      const l = s.lists;
      return { kind: 'lists', lists: { k: l.k, counts: pool.share(l.counts).array, indices: pool.share(l.indices).array, scores: pool.share(l.scores).array } };
    });
    const base = {
      backend,
      sources: shared,
      rowOf: pool.share(fb.rowOf),
      seen: fb.seen ? pool.shareRows(fb.seen) : null,
      allowed: fb.allowed ? pool.share(fb.allowed) : null,
      buckets: pool.share(fb.buckets),
      weights: fb.weights,
      scales: fb.scales,
      boost: fb.boost ? pool.share(fb.boost) : null,
      n,
      nItems: this.data.nItems[t],
      out,
    };
    const size = Math.min(MAX_TASK_USERS, Math.max(MIN_TASK_USERS, Math.ceil(m / (pool.threads * 4))));
    const tasks: FusedTask[] = [];
    for (let s = 0; s < m; s += size) tasks.push({ ...base, start: s, end: Math.min(m, s + size) });
    await pool.runAll('fused', tasks);
    return { k: n, counts: out.counts.slice(), indices: out.indices.slice(), scores: out.scores.slice() };
  }
}

/** The backend of the first component scored by a sparse job here (they share the model's backend). */
function firstBackend(kinds: readonly Kind[]): BackendName | 'auto' {
  for (const k of kinds) if (k.kind !== 'lists') return backendOf(k.s);
  return 'auto';
}

/** Whether every batch user is below `limit` and has its training row of `x` in `rows`. */
function unchanged(x: Csr, rows: SparseRows, users: Uint32Array, limit: number): boolean {
  for (let b = 0; b < users.length; b++) {
    const u = users[b];
    if (u >= limit || u >= x.nRows) return false;
    const s = x.indptr[u];
    const len = x.indptr[u + 1] - s;
    const r = rows.indptr[b];
    if (rows.indptr[b + 1] - r !== len) return false;
    for (let q = 0; q < len; q++) if (x.indices[s + q] !== rows.indices[r + q] || x.data[s + q] !== rows.data[r + q]) return false;
  }
  return true;
}
