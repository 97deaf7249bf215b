import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `../shared/data` beside the project root. */
export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

/**
 * Whether a real-data test can run. On a user's machine without `../shared/data` the test skips
 * (with the reason in its name); under CI=true the data must be there, so a missing folder fails.
 */
export function realData(relative: string): { path: string; available: boolean } {
  const path = SHARED_DATA + relative;
  const available = existsSync(path);
  if (!available && process.env.CI === 'true') {
    throw new Error(`CI=true but ${path} is missing: real-data tests must run in CI`);
  }
  return { path, available };
}

/** A fresh temporary folder, a writer of small files in it (text or bytes), and its removal. */
export function tempFiles(prefix: string): { dir: string; file(name: string, content: string | Uint8Array | ArrayBuffer): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file(name, content) {
      const p = join(dir, name);
      writeFileSync(p, content instanceof ArrayBuffer ? new Uint8Array(content) : content);
      return p;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The error `run` throws (or rejects with); fails the test when it does not throw. */
export async function caught(run: () => unknown): Promise<Error> {
  try {
    await run();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, got none');
}
