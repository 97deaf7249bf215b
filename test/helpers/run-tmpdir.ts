/**
 * Global setup of the test run: a fresh temporary folder that becomes TMPDIR for the test workers
 * (they inherit this process's environment) and every process they start, removed at the end, so
 * a run leaves nothing in the system's temporary folder whatever a test forgot to remove.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let made: string | undefined;
let before: string | undefined;

export function setup(): void {
  before = process.env.TMPDIR;
  made = mkdtempSync(join(tmpdir(), 'migrec-test-run-'));
  process.env.TMPDIR = made;
}

export function teardown(): void {
  if (before === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = before;
  if (made) rmSync(made, { recursive: true, force: true });
}
