/**
 * The counters `GET /metrics` prints in the Prometheus text format (version 0.0.4): requests by
 * route, method and status, a latency histogram per route, reloads by result, and gauges the
 * service sets (model, fit time, pool size, memory).
 */

/** Upper bounds of the latency buckets, in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Per-route latency histogram: cumulative later, plain counts here. */
interface Histogram {
  counts: Float64Array;
  sum: number;
  count: number;
}

/** What the model gauges show. */
export interface ModelGauges {
  id: string;
  name: string;
  path: string;
  fitSeconds: number | undefined;
  fittedAt: string | undefined;
  loadedAt: Date;
}

/** What the scoring gauges show. */
export interface ScoringGauges {
  /** Scoring threads (0: the server thread). */
  threads: number;
  /** Users waiting for a lane. */
  queued: number;
  /** Jobs run, and the distinct users they scored, since the model was loaded. */
  batches: number;
  scored: number;
}

/** Request counters and latency histograms; labels are route templates, so their number is bounded. */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly reloads = { ok: 0, failed: 0 };

  /** Count one finished request and its duration. */
  observe(route: string, method: string, status: number, seconds: number): void {
    const key = `${route}\u0000${method}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(route);
    if (!h) this.latency.set(route, (h = { counts: new Float64Array(BUCKETS.length), sum: 0, count: 0 }));
    let b = 0;
    while (b < BUCKETS.length && seconds > BUCKETS[b]) b++;
    if (b < BUCKETS.length) h.counts[b]++;
    h.sum += seconds;
    h.count++;
  }

  /** Count one reload. */
  reloaded(ok: boolean): void {
    if (ok) this.reloads.ok++;
    else this.reloads.failed++;
  }

  /** The exposition text. */
  render(model: ModelGauges, scoring: ScoringGauges, inFlight: number): string {
    const out: string[] = [];
    out.push('# HELP migrec_http_requests_total HTTP requests by route, method and status.', '# TYPE migrec_http_requests_total counter');
    for (const [key, n] of [...this.requests].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [route, method, status] = key.split('\u0000');
      out.push(`migrec_http_requests_total{route=${label(route)},method=${label(method)},status=${label(status)}} ${n}`);
    }
    out.push('# HELP migrec_http_request_duration_seconds Time from request to response, by route.', '# TYPE migrec_http_request_duration_seconds histogram');
    for (const [route, h] of [...this.latency].sort(([a], [b]) => (a < b ? -1 : 1))) {
      let cumulative = 0;
      BUCKETS.forEach((le, b) => {
        cumulative += h.counts[b];
        out.push(`migrec_http_request_duration_seconds_bucket{route=${label(route)},le="${le}"} ${cumulative}`);
      });
      out.push(`migrec_http_request_duration_seconds_bucket{route=${label(route)},le="+Inf"} ${h.count}`);
      out.push(`migrec_http_request_duration_seconds_sum{route=${label(route)}} ${h.sum}`);
      out.push(`migrec_http_request_duration_seconds_count{route=${label(route)}} ${h.count}`);
    }
    out.push('# HELP migrec_http_requests_in_flight Requests being handled.', '# TYPE migrec_http_requests_in_flight gauge', `migrec_http_requests_in_flight ${inFlight}`);
    out.push('# HELP migrec_model_info The model being served (value 1).', '# TYPE migrec_model_info gauge');
    out.push(`migrec_model_info{id=${label(model.id)},model=${label(model.name)},path=${label(model.path)},fitted_at=${label(model.fittedAt ?? '')}} 1`);
    out.push('# HELP migrec_model_fit_seconds Seconds the served model took to fit (as saved in its file; NaN when unknown).', '# TYPE migrec_model_fit_seconds gauge');
    out.push(`migrec_model_fit_seconds ${model.fitSeconds ?? 'NaN'}`);
    out.push('# HELP migrec_model_loaded_timestamp_seconds When the served model was loaded.', '# TYPE migrec_model_loaded_timestamp_seconds gauge');
    out.push(`migrec_model_loaded_timestamp_seconds ${model.loadedAt.getTime() / 1000}`);
    out.push('# HELP migrec_model_reloads_total Model reloads by result.', '# TYPE migrec_model_reloads_total counter');
    out.push(`migrec_model_reloads_total{result="ok"} ${this.reloads.ok}`, `migrec_model_reloads_total{result="failed"} ${this.reloads.failed}`);
    out.push('# HELP migrec_pool_threads Scoring worker threads (0: scoring in the server thread).', '# TYPE migrec_pool_threads gauge', `migrec_pool_threads ${scoring.threads}`);
    out.push('# HELP migrec_scoring_queue_users Users waiting to be scored.', '# TYPE migrec_scoring_queue_users gauge', `migrec_scoring_queue_users ${scoring.queued}`);
    out.push('# HELP migrec_scoring_batches_total Scoring jobs (micro-batches) run for the served model.', '# TYPE migrec_scoring_batches_total counter', `migrec_scoring_batches_total ${scoring.batches}`);
    out.push('# HELP migrec_scoring_users_total Distinct users scored in those jobs.', '# TYPE migrec_scoring_users_total counter', `migrec_scoring_users_total ${scoring.scored}`);
    const mem = process.memoryUsage();
    out.push('# HELP process_resident_memory_bytes Resident memory of the process.', '# TYPE process_resident_memory_bytes gauge', `process_resident_memory_bytes ${mem.rss}`);
    out.push('# HELP nodejs_heap_used_bytes V8 heap in use.', '# TYPE nodejs_heap_used_bytes gauge', `nodejs_heap_used_bytes ${mem.heapUsed}`);
    return `${out.join('\n')}\n`;
  }
}

/** A label value, quoted and escaped as the text format requires. */
function label(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
}
