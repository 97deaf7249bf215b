/**
 * `migrec serve` routes on 127.0.0.1 (port 0), against a fused model fitted with the CLI: the same
 * answers as `migrec recommend --json` / `migrec explain --json`, every route, every error status,
 * reload (also of a damaged file), timeouts and the graceful stop.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Service } from '../src/cli/serve/service.js';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';
import { call, fitTwoDomain, post } from './helpers/serve.js';

const tmp = tempFiles('migrec-serve-');
const TOKEN = 'secret-token-1';
let modelPath: string;
let service: Service;
let base: string;
const USERS = ['a1', 'a3', 'b2', 'b5', 'cold-a', 'cold-b'];

beforeAll(async () => {
  const fitted = await fitTwoDomain(tmp.dir, 'fused.migrec');
  modelPath = join(tmp.dir, 'served.migrec');
  copyFileSync(fitted, modelPath);
  service = await Service.start({ model: modelPath, port: 0, threads: 1, token: TOKEN, maxBody: 4096, maxBatch: 50 });
  base = service.url;
});

afterAll(async () => {
  await service?.shutdown();
  tmp.remove();
});

describe('migrec serve: recommend, explain, similar items, users', () => {
  it('GET /v1/recommend answers what `migrec recommend --json` prints, cached or not', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const user of USERS) {
      const cliOut = JSON.parse((await cli('recommend', '--model', modelPath, '--user', user, '--k', '3', '--json')).stdout);
      const first = await call(base, `/v1/recommend?user=${user}&k=3`);
      const again = await call(base, `/v1/recommend?user=${user}&k=3`);
      expect([first.status, first.body]).toEqual([200, cliOut]);
      expect(again.body).toEqual(cliOut);
    }
    const cold = await call(base, '/v1/recommend?user=cold-a&k=1');
    expect(cold.body.items).toEqual(['t0']);
    const fb = await call(base, '/v1/recommend?user=ghost&k=2&fallback=popularity');
    const cliFb = JSON.parse((await cli('recommend', '--model', modelPath, '--user', 'ghost', '--k', '2', '--fallback', 'popularity', '--json')).stdout);
    expect([fb.status, fb.body]).toEqual([200, cliFb]);
    expect(fb.body.fallback).toBe(true);
  });

  it('GET /v1/recommend: 404 for an unknown user or domain, 400 for bad parameters', async () => {
    const unknown = await call(base, '/v1/recommend?user=ghost');
    expect([unknown.status, unknown.body]).toEqual([404, { error: { code: 'UNKNOWN_ID', message: 'unknown user "ghost": not in the training data (add fallback=popularity to recommend popular items)' } }]);
    expect((await call(base, '/v1/recommend?user=a1&domain=nope')).body.error).toEqual({ code: 'UNKNOWN_ID', message: 'unknown domain "nope": it has no training rows' });
    const cases: Array<[string, string]> = [
      ['/v1/recommend', 'missing query parameter user'],
      ['/v1/recommend?user=', 'query parameter user is empty'],
      ['/v1/recommend?user=a1&k=0', 'query parameter k must be a positive integer (got "0")'],
      ['/v1/recommend?user=a1&k=2.5', 'query parameter k must be a positive integer (got "2.5")'],
      ['/v1/recommend?user=a1&fallback=maybe', 'query parameter fallback must be none or popularity (got "maybe")'],
      ['/v1/recommend?user=a1&kk=3', 'unknown query parameter "kk" (this route takes: user, k, domain, fallback)'],
      ['/v1/recommend?user=a1&user=a2', 'query parameter user is given more than once'],
    ];
    for (const [path, message] of cases) {
      const r = await call(base, path);
      expect([path, r.status, r.body]).toEqual([path, 400, { error: { code: 'BAD_REQUEST', message } }]);
    }
  });

  it('POST /v1/recommend: a batch on the scoring thread, the same lists as one by one; errors per user', async () => {
    const r = await post(base, '/v1/recommend', { users: [...USERS, 'ghost'], k: 3 });
    expect(r.status).toBe(200);
    for (const [i, user] of USERS.entries()) expect(r.body.results[i]).toEqual((await call(base, `/v1/recommend?user=${user}&k=3`)).body);
    expect(r.body.results[USERS.length]).toEqual({ user: 'ghost', error: { code: 'UNKNOWN_ID', message: 'unknown user "ghost": not in the training data (add fallback=popularity to recommend popular items)' } });
    const fb = await post(base, '/v1/recommend', { users: ['ghost'], k: 2, fallback: 'popularity' });
    expect(fb.body.results[0].fallback).toBe(true);
    const bad: Array<[unknown, number, string, string]> = [
      ['{"users": [', 400, 'BAD_REQUEST', 'the body is not valid JSON'],
      [[1, 2], 400, 'BAD_REQUEST', 'the body must be a JSON object'],
      [{ users: [] }, 400, 'BAD_REQUEST', 'users must be a non-empty array of user ids'],
      [{ users: ['a1', 7] }, 400, 'BAD_REQUEST', 'users[1] must be a non-empty string (got 7)'],
      [{ users: ['a1'], k: -1 }, 400, 'BAD_REQUEST', 'k must be a positive integer (got -1)'],
      [{ users: ['a1'], top: 3 }, 400, 'BAD_REQUEST', 'unknown field "top" in the body (fields: users, k, domain, fallback)'],
      [{ users: Array.from({ length: 51 }, (_, i) => `u${i}`) }, 400, 'BAD_REQUEST', 'users has 51 ids; at most 50 per request'],
      [{ users: ['x'.repeat(5000)] }, 413, 'PAYLOAD_TOO_LARGE', 'request body is over the limit of 4096 bytes'],
    ];
    for (const [body, status, code, message] of bad) {
      const e = await post(base, '/v1/recommend', body);
      expect([e.status, e.body.error.code]).toEqual([status, code]);
      expect(e.body.error.message.startsWith(message)).toBe(true);
    }
  });

  it('GET /v1/explain answers what `migrec explain --json` prints; 404 for an unknown item, 400 without one', async () => {
    const e = await call(base, '/v1/explain?user=cold-a&item=t0');
    const cliOut = JSON.parse((await cli('explain', '--model', modelPath, '--user', 'cold-a', '--item', 't0', '--json')).stdout);
    expect([e.status, e.body]).toEqual([200, cliOut]);
    expect(e.body.contributions.length).toBeGreaterThan(0);
    expect((await call(base, '/v1/explain?user=cold-a&item=t99')).status).toBe(404);
    expect((await call(base, '/v1/explain?user=ghost&item=t0')).status).toBe(404);
    expect((await call(base, '/v1/explain?user=cold-a')).body.error.message).toBe('missing query parameter item');
  });

  it('GET /v1/similar-items, /v1/users/U, /v1/users?prefix, /v1/model', async () => {
    const s = await call(base, '/v1/similar-items?item=t0&k=2');
    expect(s.status).toBe(200);
    expect(s.body.items.length).toBeGreaterThan(0);
    expect(s.body.items).not.toContain('t0');
    expect(s.body.scores.length).toBe(s.body.items.length);
    expect((await call(base, '/v1/similar-items?item=nope')).status).toBe(404);
    const u = await call(base, '/v1/users/cold-a');
    expect(u.body.user).toBe('cold-a');
    expect(u.body.domains).toEqual([{ domain: 'src', items: ['s0', 's2', 's4', 's6'], weights: [1, 1, 1, 1] }]);
    expect(u.body.bucket).toMatchObject({ domain: 'tgt', name: 'cold', targetRows: 0, sourceRows: 4, sources: ['src'] });
    expect(Object.keys(u.body.bucket.weights)).toContain('bridge-user');
    expect((await call(base, '/v1/users/a%3Fb')).body.error.message).toBe('unknown user "a?b": not in the training data');
    expect((await call(base, '/v1/users/%E0%A4%A')).status).toBe(400);
    expect((await call(base, '/v1/users?prefix=cold')).body).toEqual({ users: ['cold-a', 'cold-b'] });
    expect((await call(base, '/v1/users?prefix=a&limit=2')).body).toEqual({ users: ['a0', 'a1'] });
    expect((await call(base, '/v1/users?limit=5000')).status).toBe(400);
    const m = await call(base, '/v1/model');
    expect(m.body.summary).toMatchObject({ model: 'migrec', users: 34, defaultDomain: 'tgt' });
    expect(m.body.summary.domains.map((d: { name: string }) => d.name)).toEqual(['src', 'tgt']);
    expect(Date.parse(m.body.fittedAt)).toBeGreaterThan(0);
    expect(m.body.seconds.total).toBeGreaterThan(0);
    expect(m.body.choices.tgt.weights.cold.length).toBe(m.body.choices.tgt.components.length);
    expect(m.body.id).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('migrec serve: events, health, metrics, unknown routes', () => {
  it('POST /v1/events folds behaviour in: the next recommend and /v1/users see it', async () => {
    const before = await call(base, '/v1/recommend?user=cold-a&k=2');
    expect(before.body.items[0]).toBe('t0');
    const r = await post(base, '/v1/events', { user: 'cold-a', events: [{ item: 't0', domain: 'tgt', behavior: 'buy' }] });
    expect([r.status, r.body]).toEqual([200, { user: 'cold-a', events: 1 }]);
    const after = await call(base, '/v1/recommend?user=cold-a&k=2');
    expect(after.body.items).not.toContain('t0');
    expect((await call(base, '/v1/users/cold-a')).body.domains).toContainEqual({ domain: 'tgt', items: ['t0'], weights: [4] });
    const newbie = await post(base, '/v1/events', { user: 'newbie', events: [{ item: 's1', domain: 'src', weight: 2 }] });
    expect(newbie.status).toBe(200);
    expect((await call(base, '/v1/recommend?user=newbie&k=1')).body.fallback).toBe(false);
    const bad: Array<[unknown, number, string]> = [
      [{ user: 'x', events: [{ item: 'nope', domain: 'tgt' }] }, 404, 'unknown item "nope": not in the training items of domain "tgt"'],
      [{ user: 'x', events: [{ item: 't0', weight: 0 }] }, 400, 'events[0].weight must be a positive number (got 0)'],
      [{ user: 'x', events: [{ item: 't0', rating: 5 }] }, 400, 'unknown field "rating" in events[0] (fields: item, domain, weight, behavior)'],
      [{ user: '', events: [{ item: 't0' }] }, 400, 'user must be a non-empty string'],
      [{ user: 'x', events: [] }, 400, 'events must be a non-empty array of { item, domain?, weight?, behavior? }'],
    ];
    for (const [body, status, message] of bad) {
      const e = await post(base, '/v1/events', body);
      expect([e.status, e.body.error.message]).toEqual([status, message]);
    }
    expect((await call(base, '/v1/users/x')).status).toBe(404);
  });

  it('GET /healthz, GET /metrics; 404 for no route, 405 for a wrong method; the page is served', async () => {
    const h = await call(base, '/healthz');
    expect(h.body).toMatchObject({ status: 'ok', model: { id: service.current.id, name: 'migrec', path: modelPath } });
    const m = await call(base, '/metrics');
    expect(m.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(m.body).toMatch(/^migrec_http_requests_total\{route="\/v1\/recommend",method="GET",status="200"\} [1-9]\d*$/m);
    expect(m.body).toMatch(/^migrec_http_requests_total\{route="\/v1\/recommend",method="GET",status="404"\} [1-9]\d*$/m);
    expect(m.body).toMatch(/^migrec_http_request_duration_seconds_bucket\{route="\/v1\/recommend",le="\+Inf"\} [1-9]\d*$/m);
    expect(m.body).toContain(`migrec_model_info{id="${service.current.id}",model="migrec",path="${modelPath}"`);
    expect(m.body).toMatch(/^migrec_model_fit_seconds [0-9.]+$/m);
    expect(m.body).toContain('migrec_pool_threads 1');
    expect(await call(base, '/nope')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND', message: 'no route GET /nope' } } });
    expect(await call(base, '/v1/recommend', { method: 'DELETE' })).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED' } } });
    const page = await call(base, '/');
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.body).toContain('<script src="/app.js"');
    expect((await call(base, '/app.js')).status).toBe(200);
  });
});

describe('migrec serve: reload and stop', () => {
  it('reload needs the token; a damaged file leaves the old model serving (422, healthz); a new file swaps in', async () => {
    const id = service.current.id;
    expect((await post(base, '/v1/admin/reload', {})).status).toBe(401);
    expect((await post(base, '/v1/admin/reload', {}, { authorization: 'Bearer wrong-token' })).body.error.code).toBe('UNAUTHORIZED');
    const auth = { authorization: `Bearer ${TOKEN}` };
    const good = readFileSync(modelPath);
    writeFileSync(modelPath, good.subarray(0, good.length - 100));
    const bad = await post(base, '/v1/admin/reload', {}, auth);
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('MODEL_FORMAT');
    expect(bad.body).toMatchObject({ reloaded: false, serving: { id } });
    expect((await call(base, '/healthz')).body.lastReload).toMatchObject({ ok: false, error: { code: 'MODEL_FORMAT' } });
    expect((await call(base, '/v1/recommend?user=a1&k=1')).status).toBe(200);
    // Another model (item kNN) in the same place: swapped in at once, its own answers from then on.
    copyFileSync(await fitTwoDomain(tmp.dir, 'knn.migrec', 'itemknn', ['--domain', 'tgt']), modelPath);
    const ok = await post(base, '/v1/admin/reload', {}, auth);
    expect([ok.status, ok.body.reloaded]).toEqual([200, true]);
    expect(ok.body.serving.id).not.toBe(id);
    expect((await call(base, '/healthz')).body).toMatchObject({ model: { name: 'itemknn' }, lastReload: { ok: true } });
    const cliOut = JSON.parse((await cli('recommend', '--model', modelPath, '--user', 'a1', '--k', '2', '--json')).stdout);
    expect((await call(base, '/v1/recommend?user=a1&k=2')).body).toEqual(cliOut);
    expect((await call(base, '/metrics')).body).toContain('migrec_model_reloads_total{result="failed"} 1');
  });

  it('a slow body gets 503 TIMEOUT; stop drains a request in flight, refuses new ones, then closes', async () => {
    const s = await Service.start({ model: modelPath, port: 0, timeoutMs: 1500 });
    const url = new URL(s.url);
    // A POST /v1/events whose body is sent in parts: `req.write` now, `req.end` later.
    const open = (length: number) => {
      const req = request({ host: url.hostname, port: url.port, path: '/v1/events', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': length } });
      const answer = new Promise<{ status: number; body: any }>((resolve, reject) => {
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        });
        req.on('error', reject);
      });
      return { req, answer };
    };
    const slow = open(100);
    slow.req.write('{"user":"a1",');
    const late = await slow.answer;
    expect([late.status, late.body.error]).toEqual([503, { code: 'TIMEOUT', message: 'the request took longer than 1500 ms' }]);
    // A request in flight (half its body sent) when the stop begins.
    const body = JSON.stringify({ user: 'a2', events: [{ item: 't1', domain: 'tgt' }] });
    const flight = open(Buffer.byteLength(body));
    flight.req.write(body.slice(0, 10));
    while (s.requestsInFlight === 0) await new Promise((r) => setTimeout(r, 10));
    const stopped = s.shutdown();
    expect(s.isDraining).toBe(true);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
    flight.req.end(body.slice(10));
    const done = await flight.answer;
    expect([done.status, done.body]).toEqual([200, { user: 'a2', events: 1 }]);
    await stopped;
    expect(s.requestsInFlight).toBe(0);
  });
});
