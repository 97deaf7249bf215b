/**
 * Shared by the `migrec serve` tests: a small two-domain log (group A likes even source items and
 * t0, group B odd ones and t1; `cold-a` / `cold-b` have only source rows), a fused model fitted on
 * it with the CLI, and a JSON client.
 */
import { join } from 'node:path';
import { cli } from './cli.js';
import { twoDomainCsv } from './fixtures.js';

/** Fit `models` (default the fused model, target tgt) on the two-domain log into `dir`/`name`. */
export async function fitTwoDomain(dir: string, name: string, models = 'migrec', extra: string[] = []): Promise<string> {
  const train = join(dir, 'two-domain.csv');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(train, twoDomainCsv());
  const out = join(dir, name);
  const r = await cli('fit', '--train', train, '--models', models, '--target', 'tgt', '--threads', '0', '--out', out, ...extra);
  if (r.code !== 0) throw new Error(`fit failed: ${r.stderr}`);
  return out;
}

/** A request's status, parsed JSON body (or text) and headers. */
export async function call(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(base + path, init);
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) body = JSON.parse(text);
  return { status: res.status, body, headers: res.headers };
}

/** A POST with a JSON body. */
export function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}): ReturnType<typeof call> {
  return call(base, path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
}
