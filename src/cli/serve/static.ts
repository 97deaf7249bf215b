/**
 * The inspection page's files (plain HTML, CSS and JS in the package's `web/` folder), read once at
 * start and served from memory. From `src/cli/serve/` (tsx) and from `dist/cli/serve/` (the built
 * package) the folder is three levels up.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from '../../index.js';

/** Where the page's files are. */
export const WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The page's files by URL path (`/` is index.html). */
export class PageAssets {
  private constructor(private readonly files: ReadonlyMap<string, { type: string; body: Buffer }>) {}

  /** Read every file of `dir`. @throws {StorageError} when the folder or its index.html is missing. */
  static async load(dir = WEB_DIR): Promise<PageAssets> {
    const files = new Map<string, { type: string; body: Buffer }>();
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      throw new StorageError(`the inspection page's folder ${dir} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): the package is incomplete`);
    }
    for (const name of names) {
      const type = TYPES[extname(name)];
      if (type !== undefined) files.set(`/${name}`, { type, body: await readFile(dir + name) });
    }
    const index = files.get('/index.html');
    if (!index) throw new StorageError(`${dir}index.html is missing: the package is incomplete`);
    files.set('/', index);
    return new PageAssets(files);
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** Send one file; returns the status. */
  send(path: string, res: ServerResponse): number {
    const f = this.files.get(path)!;
    res.writeHead(200, { 'content-type': f.type, 'content-length': f.body.length, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    res.end(f.body);
    return 200;
  }
}
