/**
 * The `migrec serve` command: usage errors exit 2 before anything listens; the built binary serves
 * the page from dist/, reloads on SIGHUP and exits 0 on SIGTERM after draining.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';
import { call, fitTwoDomain } from './helpers/serve.js';

const tmp = tempFiles('migrec-serve-cli-');
let model: string;

beforeAll(async () => {
  model = await fitTwoDomain(tmp.dir, 'knn.migrec', 'itemknn', ['--domain', 'tgt']);
});
/** Servers this file started: killed at the end even when a test timed out before its own cleanup. */
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  tmp.remove();
});

describe('migrec serve (command)', () => {
  it('usage errors and unloadable files exit 2 with one line', async () => {
    expect(await cli('serve')).toMatchObject({ code: 2, stderr: 'migrec: missing required option --model (see `migrec serve --help`)\n' });
    expect((await cli('serve', '--model', model, '--port', '70000')).stderr).toBe('migrec: --port must be an integer in 0..65535 (got "70000")\n');
    expect((await cli('serve', '--model', model, '--token', 'short')).stderr).toBe('migrec: --token must be at least 8 characters long\n');
    expect((await cli('serve', '--model', model, '--cache=-1')).stderr).toBe('migrec: --cache must be an integer >= 0 (got "-1")\n');
    const damaged = tmp.file('damaged.migrec', 'not a model');
    const r = await cli('serve', '--model', damaged, '--port', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^migrec: .*damaged\.migrec.*\n$/);
    const help = await cli('serve', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('POST /v1/admin/reload');
  });

  it('the built binary serves the page from dist/, reloads on SIGHUP, drains and exits 0 on SIGTERM', async () => {
    const bin = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
    expect(existsSync(bin), 'dist/ is missing: run `npm run build` (npm install does it)').toBe(true);
    const child = spawn(process.execPath, [bin, 'serve', '--model', model, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const events: Array<Record<string, unknown>> = [];
    let buffered = '';
    const waiters: Array<() => void> = [];
    child.stderr.on('data', (c: Buffer) => {
      buffered += c.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buffered.slice(0, nl)));
        buffered = buffered.slice(nl + 1);
        for (const w of waiters.splice(0)) w();
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const until = async (event: string) => {
      while (!events.some((e) => e.event === event)) await new Promise<void>((r) => waiters.push(r));
      return events.find((e) => e.event === event)!;
    };
    try {
      const { url } = (await until('listening')) as { url: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const page = await call(url, '/?user=a1');
      expect([page.status, page.body]).toEqual([200, expect.stringContaining('<title>migrec: inspect a model</title>')]);
      expect((await call(url, '/style.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
      // A damaged file on SIGHUP: logged, and the old model serves on.
      const good = (await import('node:fs')).readFileSync(model);
      writeFileSync(model, good.subarray(0, 64));
      child.kill('SIGHUP');
      expect(await until('reload')).toMatchObject({ ok: false, code: 'MODEL_FORMAT' });
      expect((await call(url, '/healthz')).body.lastReload).toMatchObject({ ok: false });
      expect((await call(url, '/v1/recommend?user=a1&k=1')).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(events.map((e) => e.event)).toEqual(['listening', 'reload', 'draining', 'stopped']);
      writeFileSync(model, good);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
