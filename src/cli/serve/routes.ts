/**
 * The routes of `migrec serve`. Answers use the shapes of the CLI: `GET /v1/recommend` answers
 * `{ user, items, scores, fallback }` like `migrec recommend --json`, a batch answers one such
 * object (or `{ user, error }`) per user like `migrec recommend --users`, and `GET /v1/explain`
 * the object of `migrec explain --json`.
 */
import { bucketOf, UnknownIdError, type FoldInEvent, type Recommender } from '../../index.js';
import { ResultCache } from './cache.js';
import { badRequest, checkKeys, fallbackOf, positiveInt, Query, readJsonBody } from './http.js';
import type { JobOptions } from './scoring.js';
import type { RouteContext } from './service.js';

/** A route: its method and path, its label in metrics, whether it needs the admin token, its handler. */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  /** Label in metrics (the path template). */
  name: string;
  admin?: boolean;
  /** The JSON answer (200), or a promise of it; throws or rejects for an error answer. */
  handle(ctx: RouteContext): unknown;
}

/** A JSON answer already serialised. */
export class Json {
  constructor(readonly text: string) {}
}

/** An unknown user, in the service's words. */
function unknownUser(id: string): UnknownIdError {
  return new UnknownIdError('user', id, 'not in the training data (add fallback=popularity to recommend popular items)');
}

const recommendGet: Route = {
  method: 'GET',
  path: '/v1/recommend',
  name: '/v1/recommend',
  handle({ query, slot, deadline }) {
    const q = new Query(query, ['user', 'k', 'domain', 'fallback']);
    const user = q.required('user');
    const opts: JobOptions = { k: q.positiveInt('k', 10), domain: q.optional('domain'), fallback: q.fallback() };
    const cache = slot.cache;
    const key = cache.capacity > 0 ? ResultCache.key(user, opts.k, opts.domain, opts.fallback) : '';
    const hit = cache.capacity > 0 ? cache.get(key) : undefined;
    if (hit !== undefined) return new Json(hit);
    if (opts.fallback === 'none' && !slot.model.hasUser(user)) throw unknownUser(user);
    // Scored with other requests of the same options (batcher.ts); an answer computed across a
    // fold-in is not kept (the epoch changed).
    const epoch = cache.epoch;
    return slot.batcher.one(user, opts, deadline).then((text) => {
      cache.set(key, text, epoch);
      return new Json(text);
    });
  },
};

const recommendPost: Route = {
  method: 'POST',
  path: '/v1/recommend',
  name: '/v1/recommend (batch)',
  async handle({ req, slot, service, deadline }) {
    const body = await readJsonBody(req, service.options.maxBody);
    checkKeys(body, ['users', 'k', 'domain', 'fallback']);
    const users = body.users;
    if (!Array.isArray(users) || users.length === 0) throw badRequest('users must be a non-empty array of user ids');
    if (users.length > service.options.maxBatch) throw badRequest(`users has ${users.length} ids; at most ${service.options.maxBatch} per request`);
    users.forEach((u, i) => {
      if (typeof u !== 'string' || u === '') throw badRequest(`users[${i}] must be a non-empty string (got ${JSON.stringify(u)?.slice(0, 60)})`);
    });
    if (body.domain !== undefined && typeof body.domain !== 'string') throw badRequest('domain must be a string');
    const opts: JobOptions = {
      k: body.k === undefined ? 10 : positiveInt(body.k, 'k'),
      domain: body.domain as string | undefined,
      fallback: body.fallback === undefined ? 'none' : fallbackOf(body.fallback, 'fallback'),
    };
    const model = slot.model;
    const known = (users as string[]).map((u) => opts.fallback === 'popularity' || model.hasUser(u));
    const texts = await slot.batcher.many((users as string[]).filter((_, i) => known[i]), opts, deadline);
    let next = 0;
    const results = (users as string[]).map((u, i) =>
      known[i] ? texts[next++] : JSON.stringify({ user: u, error: { code: 'UNKNOWN_ID', message: unknownUser(u).message } }),
    );
    // The bytes of JSON.stringify({ results }) with the answers as the workers wrote them.
    return new Json(`{"results":[${results.join(',')}]}`);
  },
};

const explainGet: Route = {
  method: 'GET',
  path: '/v1/explain',
  name: '/v1/explain',
  handle({ query, slot }) {
    const q = new Query(query, ['user', 'item', 'domain', 'k']);
    const user = q.required('user');
    const item = q.required('item');
    const opts = { domain: q.optional('domain'), k: q.positiveInt('k', 10) };
    if (!slot.model.hasUser(user)) throw new UnknownIdError('user', user, 'not in the training data');
    return slot.model.explain(user, item, opts);
  },
};

const similarItems: Route = {
  method: 'GET',
  path: '/v1/similar-items',
  name: '/v1/similar-items',
  handle({ query, slot }) {
    const q = new Query(query, ['item', 'k', 'domain']);
    const item = q.required('item');
    const domain = q.optional('domain');
    const r = slot.model.similarItems(item, { k: q.positiveInt('k', 10), domain });
    return { item, domain: domain ?? slot.model.summary().defaultDomain, items: r.items, scores: Array.from(r.scores) };
  },
};

/** `GET /v1/users/:user`: the user's rows per domain, and for the fused model the bucket the user is in. */
export const userRoute: Route = {
  method: 'GET',
  path: '/v1/users/:user',
  name: '/v1/users/:user',
  handle({ query, slot, param }) {
    new Query(query, []);
    const user = param!;
    if (user === '') throw badRequest('the path needs a user id: /v1/users/<user>');
    if (!slot.model.hasUser(user)) throw new UnknownIdError('user', user, 'not in the training data');
    const domains = slot.model.userEvents(user).map((d) => ({ domain: d.domain, items: d.items, weights: Array.from(d.weights) }));
    return { user, domains, bucket: bucketView(slot.model, domains) };
  },
};

/**
 * For the fused model: the user's bucket in its target (from the rows per domain, as the model
 * decides it) and the bucket's component weights chosen at fit time; null for other models.
 */
function bucketView(model: Recommender, domains: Array<{ domain: string; items: string[] }>): unknown {
  if (model.name !== 'migrec') return null;
  const target = model.summary().defaultDomain;
  const fusion = target === null ? undefined : (model.fitReport().choices[target] as { components: string[]; weights: Record<string, number[]> } | undefined);
  if (target === null || !fusion) return null;
  const all = model.summary().domains.filter((d) => d.name !== target && d.items > 0).map((d) => d.name);
  const sources = (model.options.sources as string[] | undefined)?.filter((s) => s !== target) ?? all;
  const rows = (name: string) => domains.find((d) => d.domain === name)?.items.length ?? 0;
  const targetRows = rows(target);
  const sourceRows = sources.reduce((a, s) => a + rows(s), 0);
  const name = bucketOf(targetRows, sourceRows);
  const w = fusion.weights[name] ?? [];
  return { domain: target, name, targetRows, sourceRows, sources, weights: Object.fromEntries(fusion.components.map((c, i) => [c, w[i] ?? 0])) };
}

const userSearch: Route = {
  method: 'GET',
  path: '/v1/users',
  name: '/v1/users',
  handle({ query, slot }) {
    const q = new Query(query, ['prefix', 'limit']);
    const limit = q.positiveInt('limit', 20);
    if (limit > 1000) throw badRequest(`query parameter limit must be at most 1000 (got ${limit})`);
    return { users: slot.model.findUsers(query.get('prefix') ?? '', limit) };
  },
};

const events: Route = {
  method: 'POST',
  path: '/v1/events',
  name: '/v1/events',
  async handle({ req, slot, service }) {
    const body = await readJsonBody(req, service.options.maxBody);
    checkKeys(body, ['user', 'events']);
    const { user, events: list } = body;
    if (typeof user !== 'string' || user === '') throw badRequest('user must be a non-empty string');
    if (!Array.isArray(list) || list.length === 0) throw badRequest('events must be a non-empty array of { item, domain?, weight?, behavior? }');
    const parsed: FoldInEvent[] = list.map((e, i) => {
      const where = `events[${i}]`;
      if (typeof e !== 'object' || e === null || Array.isArray(e)) throw badRequest(`${where} must be an object { item, domain?, weight?, behavior? }`);
      checkKeys(e as Record<string, unknown>, ['item', 'domain', 'weight', 'behavior'], where);
      const { item, domain, weight, behavior } = e as Record<string, unknown>;
      if (typeof item !== 'string' || item === '') throw badRequest(`${where}.item must be a non-empty string`);
      if (domain !== undefined && typeof domain !== 'string') throw badRequest(`${where}.domain must be a string`);
      if (behavior !== undefined && typeof behavior !== 'string') throw badRequest(`${where}.behavior must be a string`);
      if (weight !== undefined && (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0)) throw badRequest(`${where}.weight must be a positive number (got ${JSON.stringify(weight)})`);
      return { item, domain, weight, behavior } as FoldInEvent;
    });
    slot.model.foldIn(user, parsed);
    // The scoring threads get it after the jobs already sent to them, before any sent later.
    slot.scoring.foldIn(user, parsed);
    slot.cache.clear();
    return { user, events: parsed.length };
  },
};

const model: Route = {
  method: 'GET',
  path: '/v1/model',
  name: '/v1/model',
  handle({ query, slot, service }) {
    new Query(query, []);
    const m = slot.model;
    const report = m.fitReport();
    return {
      id: slot.id,
      path: slot.path,
      bytes: slot.bytes,
      loadedAt: slot.loadedAt.toISOString(),
      summary: m.summary(),
      fittedAt: report.fittedAt ?? null,
      seconds: report.seconds,
      choices: report.choices,
      options: m.options,
      poolThreads: service.poolThreads,
    };
  },
};

const health: Route = {
  method: 'GET',
  path: '/healthz',
  name: '/healthz',
  handle({ slot, service }) {
    return { status: 'ok', model: { id: slot.id, name: slot.model.name, path: slot.path, loadedAt: slot.loadedAt.toISOString() }, lastReload: service.lastReload ?? null };
  },
};

const metrics: Route = {
  method: 'GET',
  path: '/metrics',
  name: '/metrics',
  handle({ res, slot, service }) {
    const report = slot.model.fitReport();
    const text = service.metrics.render(
      { id: slot.id, name: slot.model.name, path: slot.path, fitSeconds: report.seconds.total, fittedAt: report.fittedAt, loadedAt: slot.loadedAt },
      { threads: slot.scoring.threads, queued: slot.batcher.queued, batches: slot.batcher.batches, scored: slot.batcher.scored },
      service.requestsInFlight,
    );
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
    return undefined;
  },
};

const reload: Route = {
  method: 'POST',
  path: '/v1/admin/reload',
  name: '/v1/admin/reload',
  admin: true,
  async handle({ res, service }) {
    const status = await service.reload();
    const current = service.current;
    const serving = { id: current.id, path: current.path, loadedAt: current.loadedAt.toISOString() };
    if (status.ok) return { reloaded: true, serving };
    // The old model serves on: 422 with the reason, and what is being served.
    const text = JSON.stringify({ error: status.error, reloaded: false, serving });
    res.writeHead(422, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
    return undefined;
  },
};

/** Every route but `/v1/users/:user`, by `METHOD path`. */
export const ROUTES: ReadonlyMap<string, Route> = new Map(
  [recommendGet, recommendPost, explainGet, similarItems, userSearch, events, model, health, metrics, reload].map((r) => [`${r.method} ${r.path}`, r]),
);
