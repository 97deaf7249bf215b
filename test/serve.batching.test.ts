/**
 * Micro-batching in `migrec serve`: many concurrent GET /v1/recommend are scored together on
 * scoring worker threads (their own copies of the model) and get exactly the answers of sequential
 * requests and of `migrec recommend --json`; fold-ins reach every worker; batches are cut into
 * jobs; the queue bound (503 OVERLOADED) and deadlines hold.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type Recommender } from '../src/index.js';
import { MicroBatcher } from '../src/cli/serve/batcher.js';
import { ThreadScoring } from '../src/cli/serve/scoring.js';
import { Service } from '../src/cli/serve/service.js';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';
import { call, fitTwoDomain, post } from './helpers/serve.js';

const tmp = tempFiles('migrec-serve-batch-');
const TOKEN = 'batch-token-1';
let modelPath: string;
let service: Service;
let base: string;
const USERS = [...Array.from({ length: 12 }, (_, a) => `a${a}`), ...Array.from({ length: 20 }, (_, b) => `b${b}`), 'cold-a', 'cold-b'];

/** The raw text of a GET (the bytes the service sent). */
async function text(path: string): Promise<[number, string]> {
  const res = await fetch(base + path);
  return [res.status, await res.text()];
}

beforeAll(async () => {
  const fitted = await fitTwoDomain(tmp.dir, 'fused.migrec');
  modelPath = join(tmp.dir, 'served.migrec');
  copyFileSync(fitted, modelPath);
  service = await Service.start({ model: modelPath, port: 0, threads: 2, cache: 0, token: TOKEN });
  base = service.url;
}, 120_000);

afterAll(async () => {
  await service?.shutdown();
  tmp.remove();
});

describe('migrec serve: micro-batches on scoring threads', () => {
  it('many concurrent GETs get the answers of sequential ones, in fewer jobs than requests', async () => {
    expect(service.poolThreads).toBe(2);
    // Every user at k = 2 and 3, a user without rows with the fallback, and repeats.
    const paths = [...USERS.map((u) => `/v1/recommend?user=${u}&k=3`), ...USERS.map((u) => `/v1/recommend?user=${u}&k=2`), '/v1/recommend?user=ghost&k=2&fallback=popularity'];
    const sequential = new Map<string, [number, string]>();
    for (const path of paths) sequential.set(path, await text(path));
    const before = service.current.batcher.batches;
    const order = [...paths, ...paths, ...paths].map((p, i) => [p, (i * 7919) % 331] as const).sort((x, y) => x[1] - y[1]);
    const concurrent = await Promise.all(order.map(([path]) => text(path)));
    order.forEach(([path], i) => expect([path, ...concurrent[i]]).toEqual([path, ...sequential.get(path)!]));
    const jobs = service.current.batcher.batches - before;
    expect(jobs).toBeGreaterThan(0);
    expect(jobs).toBeLessThan(order.length);
    for (const user of ['a1', 'b2', 'cold-b']) {
      const printed = (await cli('recommend', '--model', modelPath, '--user', user, '--k', '3', '--json')).stdout.trim();
      expect(sequential.get(`/v1/recommend?user=${user}&k=3`)).toEqual([200, printed]);
    }
    const metrics = (await call(base, '/metrics')).body as string;
    expect(metrics).toContain('migrec_pool_threads 2');
    expect(metrics).toMatch(/^migrec_scoring_batches_total [1-9]\d*$/m);
  }, 60_000);

  it('a POST batch is cut into jobs for both threads: the same answers as GETs, repeats and unknown users in place', async () => {
    const users = [...USERS, 'a1', 'ghost', 'b3'];
    const r = await post(base, '/v1/recommend', { users, k: 3 });
    expect(r.status).toBe(200);
    for (const [i, user] of users.entries()) {
      if (user === 'ghost') expect(r.body.results[i].error.code).toBe('UNKNOWN_ID');
      else expect(r.body.results[i]).toEqual((await call(base, `/v1/recommend?user=${user}&k=3`)).body);
    }
  }, 60_000);

  it('behaviour folded in reaches every scoring thread before the next jobs', async () => {
    const r = await post(base, '/v1/events', { user: 'cold-b', events: [{ item: 't1', domain: 'tgt' }, { item: 't3', domain: 'tgt', weight: 2 }] });
    expect(r.status).toBe(200);
    // Different k: different jobs, spread over both threads; each must see the fold-in.
    const ks = [1, 2, 3, 4, 1, 2, 3, 4];
    const answers = await Promise.all(ks.map((k) => call(base, `/v1/recommend?user=cold-b&k=${k}`)));
    const model = service.current.model;
    ks.forEach((k, i) => {
      const own = model.recommend('cold-b', { k });
      expect(answers[i].body).toEqual({ user: 'cold-b', items: own.items, scores: Array.from(own.scores), fallback: false });
      expect(answers[i].body.items).not.toContain('t1');
    });
    const newbie = await post(base, '/v1/events', { user: 'newbie', events: [{ item: 's1', domain: 'src' }] });
    expect(newbie.status).toBe(200);
    const got = await Promise.all([1, 2, 3].map((k) => call(base, `/v1/recommend?user=newbie&k=${k}`)));
    for (const g of got) expect([g.status, g.body.fallback]).toEqual([200, false]);
  }, 60_000);

  it('a reload starts new scoring threads on the new file; errors of a job reach every request in it', async () => {
    copyFileSync(await fitTwoDomain(tmp.dir, 'knn.migrec', 'itemknn', ['--domain', 'tgt']), modelPath);
    const ok = await post(base, '/v1/admin/reload', {}, { authorization: `Bearer ${TOKEN}` });
    expect([ok.status, ok.body.reloaded]).toEqual([200, true]);
    expect(service.poolThreads).toBe(2);
    const printed = JSON.parse((await cli('recommend', '--model', modelPath, '--user', 'a1', '--k', '2', '--json')).stdout);
    const both = await Promise.all([call(base, '/v1/recommend?user=a1&k=2'), call(base, '/v1/recommend?user=a1&k=2')]);
    for (const b of both) expect(b.body).toEqual(printed);
    const bad = await Promise.all(['a1', 'b1'].map((u) => call(base, `/v1/recommend?user=${u}&domain=nope`)));
    for (const b of bad) expect([b.status, b.body.error.code]).toEqual([404, 'UNKNOWN_ID']);
  }, 120_000);
});

describe('MicroBatcher on the server thread', () => {
  let model: Recommender;
  beforeAll(async () => {
    model = await loadModel(await fitTwoDomain(tmp.dir, 'thread.migrec'));
  }, 60_000);
  afterAll(() => model?.close());
  const opts = { k: 2, domain: undefined, fallback: 'none' as const };

  it('groups requests of a turn into one job per options, answers each its own user, dedups repeats', async () => {
    const b = new MicroBatcher(new ThreadScoring(model), { maxQueue: 100, jobUsers: 4 });
    const far = performance.now() + 60_000;
    const users = ['a1', 'b2', 'a1', 'cold-a', 'b5', 'b2'];
    const answers = await Promise.all([...users.map((u) => b.one(u, opts, far)), b.one('a1', { ...opts, k: 1 }, far)]);
    // k=2: 6 requests in jobs of at most 4 (2 jobs); k=1: its own job.
    expect([b.batches, b.scored]).toEqual([3, 3 + 2 + 1]);
    users.forEach((u, i) => {
      const r = model.recommend(u, opts);
      expect(JSON.parse(answers[i])).toEqual({ user: u, items: r.items, scores: Array.from(r.scores), fallback: false });
    });
    expect(JSON.parse(answers[6]).items).toEqual(model.recommend('a1', { k: 1 }).items);
  });

  it('refuses past the queue bound (503 OVERLOADED), a batch only when users wait; drops requests past their deadline', async () => {
    const b = new MicroBatcher(new ThreadScoring(model), { maxQueue: 2, jobUsers: 8 });
    const far = performance.now() + 60_000;
    const first = [b.one('a1', opts, far), b.one('a2', opts, far)];
    expect(() => b.one('a3', opts, far)).toThrow(expect.objectContaining({ status: 503, code: 'OVERLOADED' }));
    await expect(b.many(['a4'], opts, far)).rejects.toMatchObject({ status: 503, code: 'OVERLOADED' });
    await Promise.all(first);
    expect(b.queued).toBe(0);
    // Nothing waits: a batch larger than the bound is taken.
    const five = await b.many(['a1', 'a2', 'a3', 'a4', 'a5'], opts, far);
    expect(five.map((t) => JSON.parse(t).user)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    const before = b.batches;
    await expect(b.one('a1', opts, performance.now() - 1)).rejects.toMatchObject({ status: 503, code: 'TIMEOUT' });
    expect(b.batches).toBe(before);
  });
});
