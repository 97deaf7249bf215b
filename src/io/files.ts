/**
 * File-system steps of an atomic model save: the target check, the temporary files of saves in
 * progress and of killed saves, the directory fsync, and short reasons for failed operations.
 */
import { constants as fsc, promises as fs, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StorageError } from '../errors.js';

/** Temporary files of a save older than this (ms) are stale even when their process still runs. */
export const STALE_TEMP_MS = 10 * 60 * 1000;

/** What a file that is not a regular file is, for messages. */
export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice() || st.isBlockDevice()) return st.isBlockDevice() ? 'a block device' : 'a character device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  return st.isSocket() ? 'a socket' : st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
}

const REASONS: Record<string, string> = { ENOENT: 'no such file or directory', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'it is a directory', ENOSPC: 'no space left on the device', EROFS: 'read-only file system' };

/** A short reason for a failed file operation. */
export function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return (err.code !== undefined ? REASONS[err.code] : undefined) ?? err.message;
}

/** Temporary files of saves in progress in this process (never removed as stale). */
export const inProgress = new Set<string>();

/** Name pattern of the temporary files of saves to `base`: `.<base>.<pid>.<16 hex>.tmp`. */
function tempPattern(base: string): RegExp {
  return new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]{16}\\.tmp$`);
}

/** Whether process `pid` exists (on this host). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove temporary files a killed save to `path` left behind: regular files of this module's
 * pattern for that target whose process is gone or that are older than STALE_TEMP_MS. Best effort.
 */
export async function removeStaleTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const pattern = tempPattern(basename(path));
  const names = await fs.readdir(dir).catch((): string[] => []);
  const now = Date.now();
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const file = join(dir, name);
    if (inProgress.has(file)) continue;
    try {
      const st = await fs.lstat(file);
      if (!st.isFile()) continue; // only files a save created: a planted link or directory is left alone
      const pid = Number(m[1]);
      if (now - st.mtimeMs > STALE_TEMP_MS || (pid !== process.pid && !alive(pid))) await fs.unlink(file);
    } catch {} // gone already, or not ours to remove
  }
}

/**
 * Refuse a target that exists and is not a regular file (a symlink is judged by what it points to;
 * a dangling one is replaced). @throws {StorageError}
 */
export async function checkTarget(path: string): Promise<void> {
  let st: Stats;
  try {
    st = await fs.lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StorageError(`cannot write model file ${path}: ${reason(e)}`);
  }
  if (st.isFile()) return;
  if (st.isSymbolicLink()) {
    let target: Stats;
    try {
      target = await fs.stat(path);
    } catch {
      return; // dangling: the rename replaces the link itself
    }
    if (!target.isFile()) throw new StorageError(`cannot write model file ${path}: it is a symbolic link to ${kindOf(target)}, not a regular file`);
    return;
  }
  throw new StorageError(`cannot write model file ${path}: it is ${kindOf(st)}, not a regular file`);
}

/** fsync a directory (where the platform allows it). */
export async function syncDir(dir: string): Promise<void> {
  let h: fs.FileHandle | undefined;
  try {
    h = await fs.open(dir, fsc.O_RDONLY | (fsc.O_DIRECTORY ?? 0));
    await h.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EACCES') throw e;
  } finally {
    await h?.close().catch(() => undefined);
  }
}

