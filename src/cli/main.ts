#!/usr/bin/env node
/**
 * The `migrec` command. Uses only the public surface (`../index.js`). Exit status: 0 success,
 * 2 bad input or usage (one line on stderr), 1 internal failure.
 */
import { runCli } from './run.js';

runCli(process.argv.slice(2), { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), isTTY: !!process.stderr.isTTY }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // runCli reports every failure itself; this is only reached when writing the report failed.
    process.stderr.write(`migrec: internal error: ${(e as Error)?.message ?? String(e)}\n`);
    if (process.argv.includes('--debug') && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  },
);
