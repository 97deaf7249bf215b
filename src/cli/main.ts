#!/usr/bin/env node
/**
 * The `migrec` command. Uses only the public surface (`../index.js`). Exit status: 0 success,
 * 2 bad input or usage (one line on stderr), 1 internal failure.
 */
import { isMigrecError } from '../index.js';
import { runCli } from './run.js';

const debug = process.argv.includes('--debug');
runCli(process.argv.slice(2), { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), isTTY: !!process.stderr.isTTY }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // runCli reports expected failures itself; anything reaching here is internal.
    process.stderr.write(`migrec: internal error: ${(e as Error)?.message ?? String(e)}\n`);
    if (debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = isMigrecError(e) ? 2 : 1;
  },
);
