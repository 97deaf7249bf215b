/**
 * Rewrite the options table of README.md (between `<!-- options:begin -->` and
 * `<!-- options:end -->`) from the model option schemas:
 *
 *   npx tsx bench/options-table.ts
 *
 * test/options.readme.test.ts fails when the README region differs from what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MODEL_SCHEMAS, optionsMarkdown } from '../src/options/index.js';

export const OPTIONS_BEGIN = '<!-- options:begin -->';
export const OPTIONS_END = '<!-- options:end -->';

/** What belongs between the markers: the generated table, with a blank line on each side. */
export function optionsRegion(): string {
  return `\n\n${optionsMarkdown(MODEL_SCHEMAS)}\n\n`;
}

/** The text between the markers of a README. @throws {Error} when the markers are missing or out of order. */
export function readOptionsRegion(readme: string): string {
  const b = readme.indexOf(OPTIONS_BEGIN);
  const e = readme.indexOf(OPTIONS_END);
  if (b < 0 || e < b || readme.indexOf(OPTIONS_BEGIN, b + 1) >= 0) throw new Error(`README.md needs one ${OPTIONS_BEGIN} ... ${OPTIONS_END} region`);
  return readme.slice(b + OPTIONS_BEGIN.length, e);
}

/** The README with its options region replaced by the generated one. */
export function replaceOptionsRegion(readme: string): string {
  const old = readOptionsRegion(readme);
  const b = readme.indexOf(OPTIONS_BEGIN) + OPTIONS_BEGIN.length;
  return readme.slice(0, b) + optionsRegion() + readme.slice(b + old.length);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = fileURLToPath(new URL('../README.md', import.meta.url));
  const before = readFileSync(path, 'utf8');
  const after = replaceOptionsRegion(before);
  if (after === before) console.log('README.md: options table up to date');
  else {
    writeFileSync(path, after);
    console.log('README.md: options table rewritten');
  }
}
