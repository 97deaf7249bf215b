/**
 * The cluster mode against a real redis-server (127.0.0.1, a free port, persistence off) and real
 * `migrec worker` processes (the built CLI): distributed fits equal single-process fits section for
 * section, distributed batch scoring equals `recommend --users` byte for byte, and the faults: a
 * worker killed mid-run, a job failing every attempt, Redis restarted mid-run, bad flags.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterError, createClusterPool, writeTwoDomainCsv } from '../src/index.js';
import { decodeModelFile } from '../src/io/modelfile.js';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';
import { freePort, haveRedis, TestRedis, TestWorker, waitFor } from './helpers/redis.js';

const { dir, file: f, remove } = tempFiles('migrec-cluster-');
afterAll(() => remove());
let text = 'user,item\n';
for (let u = 0; u < 40; u++) for (let i = u % 2; i < 40; i += 2) if (i !== u && (i * 7 + u) % 5 !== 0) text += `u${u},i${i}\n`;
const checker = f('checker.csv', text);
const twoDomain = join(dir, 'two.csv');
writeTwoDomainCsv(twoDomain, { events: 8000, seed: 11 });
const users = f('users.txt', `${Array.from({ length: 900 }, (_, i) => `u${i}`).join('\n')}\nnobody\n`);

/** Model files hold the same model: every section byte for byte, the manifest but for the fit record (time and seconds). */
function sameModel(a: string, b: string): void {
  const x = decodeModelFile(readFileSync(a), a);
  const y = decodeModelFile(readFileSync(b), b);
  const strip = (m: Record<string, unknown>) => ({ ...m, fit: undefined });
  expect(strip(x.meta)).toEqual(strip(y.meta));
  expect(Object.keys(x.sections).sort()).toEqual(Object.keys(y.sections).sort());
  for (const [name, s] of Object.entries(x.sections)) {
    const t = y.sections[name];
    expect(Buffer.from(s.buffer, s.byteOffset, s.byteLength).equals(Buffer.from(t.buffer, t.byteOffset, t.byteLength)), `section ${name}`).toBe(true);
  }
}

it('redis-server is installed (.ci/run installs it with apt-get)', () => {
  expect(haveRedis()).toBe(true);
});

describe.runIf(haveRedis())('cluster mode (redis-server, two migrec worker processes)', () => {
  let redis: TestRedis;
  let workers: TestWorker[] = [];
  const work = join(dir, 'work');

  beforeAll(async () => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
    redis = await TestRedis.start();
    workers = await Promise.all([TestWorker.start(redis.url), TestWorker.start(redis.url)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await redis?.kill();
  }, 30_000);

  it('a distributed item-kNN fit equals the single-process fit; so does distributed batch scoring, and a rerun scores only missing parts', async () => {
    const a = join(dir, 'knn-local.migrec');
    const b = join(dir, 'knn-cluster.migrec');
    expect((await cli('fit', '--train', checker, '--models', 'itemknn', '--neighbors', '10', '--threads', '2', '--out', a)).code).toBe(0);
    const r = await cli('fit', '--train', checker, '--models', 'itemknn', '--neighbors', '10', '--redis', redis.url, '--work-dir', work, '--shards', '3', '--out', b, '--json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(r.stdout).stats.cluster).toEqual({ queue: 'migrec', shards: 3 });
    sameModel(a, b);
    // The run's files are gone from the work directory.
    expect(readdirSync(work)).toEqual([]);

    const single = await cli('recommend', '--model', b, '--users', users, '--k', '5');
    expect(single.code).toBe(0);
    const out = join(dir, 'parts');
    const d = await cli('recommend', '--model', b, '--users', users, '--k', '5', '--redis', redis.url, '--out', out, '--part-size', '250');
    expect(d.code).toBe(0);
    expect(JSON.parse(d.stdout)).toEqual({ out, parts: 4, reused: 0, users: 901, failed: 861 });
    const parts = () => readdirSync(out).filter((p) => p.endsWith('.jsonl')).sort();
    expect(parts()).toEqual(['part-00000.jsonl', 'part-00001.jsonl', 'part-00002.jsonl', 'part-00003.jsonl']);
    const joined = () => parts().map((p) => readFileSync(join(out, p), 'utf8')).join('');
    expect(joined()).toBe(single.stdout);
    // A crash lost part 2: the rerun scores it alone.
    unlinkSync(join(out, 'part-00002.jsonl'));
    const again = await cli('recommend', '--model', b, '--users', users, '--k', '5', '--redis', redis.url, '--out', out, '--part-size', '250');
    expect(JSON.parse(again.stdout)).toEqual({ out, parts: 4, reused: 3, users: 901, failed: 861 });
    expect(joined()).toBe(single.stdout);
    // Other options into the same directory are refused (the parts would mix).
    const other = await cli('recommend', '--model', b, '--users', users, '--k', '3', '--redis', redis.url, '--out', out);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/holds parts made with another model file or other options/);
  }, 120_000);

  it('a distributed fit of the fused model equals the single-process fit (lists, factors and weights identical)', async () => {
    const a = join(dir, 'migrec-local.migrec');
    const b = join(dir, 'migrec-cluster.migrec');
    const ra = await cli('fit', '--train', twoDomain, '--target', 'music', '--threads', '2', '--out', a);
    expect(ra.code).toBe(0);
    const rb = await cli('fit', '--train', twoDomain, '--target', 'music', '--redis', redis.url, '--work-dir', work, '--out', b);
    expect([rb.code, rb.stderr]).toEqual([0, '']);
    sameModel(a, b);
    const la = await cli('recommend', '--model', a, '--users', users);
    const lb = await cli('recommend', '--model', b, '--users', users);
    expect(lb.stdout).toBe(la.stdout);
  }, 240_000);

  it('a job that fails every attempt fails the run with that job\'s error', async () => {
    const pool = await createClusterPool({ redis: redis.url, workDir: work, attempts: 2, backoffMs: 10 });
    try {
      // Shards by default: half the job slots of the connected workers (two workers of one slot each).
      expect(pool.threads).toBe(1);
      const e = await pool.drill('throw').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ClusterError);
      expect((e as Error).message).toMatch(/^job \S+ \(drill task 1 of 1\) failed after 2 attempts on redis:\/\/127\.0\.0\.1:\d+ \(queue migrec\): .*drill: thrown in the worker/);
    } finally {
      await pool.close();
    }
  }, 60_000);
});

describe.runIf(haveRedis())('cluster faults', () => {
  it('a worker killed with SIGKILL mid-run: the other takes its job over and the model is unchanged', async () => {
    const redis = await TestRedis.start();
    const work = join(dir, 'work-kill');
    mkdirSync(work, { recursive: true });
    // The first worker takes four jobs at a time onto its one thread: when it dies, it holds some.
    const ws = await Promise.all([TestWorker.start(redis.url, ['--concurrency', '4']), TestWorker.start(redis.url)]);
    try {
      const local = join(dir, 'kill-local.migrec');
      const out = join(dir, 'kill-cluster.migrec');
      expect((await cli('fit', '--train', twoDomain, '--target', 'music', '--threads', '2', '--out', local)).code).toBe(0);
      // Many small jobs (--shards 8), so the first worker always has several in hand.
      const run = cli('fit', '--train', twoDomain, '--target', 'music', '--redis', redis.url, '--work-dir', work, '--shards', '8', '--out', out);
      // The jobs a worker's log shows started and not done.
      const heldBy = (log: string) => {
        const held = new Set([...log.matchAll(/job (\S+) \S+ started/g)].map((x) => x[1]));
        for (const x of log.matchAll(/job (\S+) \S+ done/g)) held.delete(x[1]);
        return held;
      };
      // A second into the run, at a job start of the first worker: freeze it (SIGSTOP), so that
      // what its log shows is what it holds, and SIGKILL it while it holds a job. A job can finish
      // between its start line and a signal, so a freeze that finds none lets it go on and waits
      // for the next start.
      await new Promise((r) => setTimeout(r, 1000));
      for (let attempt = 0; ; attempt++) {
        expect(attempt).toBeLessThan(50);
        const from = ws[0].log.length;
        await waitFor(() => ws[0].log.slice(from), /job \S+ (?!merge)\S+ started/, 60_000, 'a job on the first worker');
        ws[0].child.kill('SIGSTOP');
        await new Promise((r) => setTimeout(r, 100)); // lines written before the stop
        if (heldBy(ws[0].log).size > 0) break;
        ws[0].child.kill('SIGCONT');
      }
      ws[0].child.kill('SIGKILL');
      await ws[0].exited;
      const r = await run;
      expect([r.code, r.stderr]).toEqual([0, '']);
      sameModel(local, out);
      // The jobs the killed worker held (started there, never done) were done by the other one.
      const held = heldBy(ws[0].log);
      expect(held.size).toBeGreaterThan(0);
      for (const id of held) expect(ws[1].log).toMatch(new RegExp(`job ${id.replace(/\./g, '\\.')} \\S+ done`));
    } finally {
      await Promise.all(ws.map((w) => w.stop()));
      await redis.kill();
    }
  }, 240_000);

  it('Redis restarted mid-run (persistence off, the jobs lost): a clear error and no model file, or a run that resumes and gives the same model', async () => {
    const redis = await TestRedis.start();
    const work = join(dir, 'work-restart');
    mkdirSync(work, { recursive: true });
    const w = await TestWorker.start(redis.url);
    try {
      const out = join(dir, 'restart.migrec');
      const started = Date.now();
      const run = cli('fit', '--train', twoDomain, '--target', 'music', '--redis', redis.url, '--work-dir', work, '--out', out);
      await waitFor(() => w.log, /job \S+ \S+ done/, 60_000, 'a first job done');
      await redis.kill();
      await redis.launch();
      const r = await run;
      if (r.code === 0) sameModel(join(dir, 'kill-local.migrec'), out);
      else {
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^migrec: (Redis at redis:\/\/127\.0\.0\.1:\d+ \(queue migrec\) lost job \S+ of this run \(restarted without persistence, or the job was removed\): the run stops \(nothing was saved\)|lost the connection to Redis)/);
        expect(existsSync(out)).toBe(false);
      }
      expect(Date.now() - started).toBeLessThan(120_000);
      // SIGTERM stops a worker (exit 0) even with Redis gone.
      await redis.kill();
      expect(await w.stop(8000)).toBe(0);
    } finally {
      await w.stop();
      await redis.kill();
    }
  }, 180_000);
});

describe('cluster flags', () => {
  it('--redis without --work-dir, --work-dir without --redis, recommend --redis without --out: usage errors (status 2)', async () => {
    const a = await cli('fit', '--train', checker, '--models', 'itemknn', '--redis', 'redis://127.0.0.1:1');
    expect([a.code, a.stderr]).toEqual([2, 'migrec: --redis needs --work-dir DIR: a directory every worker can read, at the same path (see docs/deployment.md)\n']);
    const b = await cli('fit', '--train', checker, '--models', 'itemknn', '--work-dir', dir);
    expect([b.code, b.stderr]).toEqual([2, 'migrec: --work-dir is for a distributed fit: give --redis URL too\n']);
    const c = await cli('recommend', '--model', join(dir, 'x.migrec'), '--users', users, '--redis', 'redis://127.0.0.1:1');
    expect([c.code, c.stderr]).toEqual([2, 'migrec: --redis and --out go together: --redis URL --out DIR (a directory shared with the workers)\n']);
    const d = await cli('fit', '--train', checker, '--redis', 'http://x', '--work-dir', dir);
    expect(d.code).toBe(2);
    expect(d.stderr).toBe('migrec: --redis must be a redis:// or rediss:// URL (got "http://x")\n');
  });

  it('an unreachable Redis is a clear error within seconds (fit, worker), not a hang', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const a = await cli('fit', '--train', checker, '--models', 'itemknn', '--redis', `redis://127.0.0.1:${port}`, '--work-dir', dir);
    expect([a.code, a.stderr]).toEqual([1, `migrec: cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`]);
    const b = await cli('worker', '--redis', `redis://127.0.0.1:${port}`, '--threads', '1');
    expect([b.code, b.stderr]).toEqual([1, `migrec: cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`]);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
