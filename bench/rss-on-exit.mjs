// Preloaded into a child process by the scale benchmark (`node --import`): at exit, appends the
// process's peak resident set size in MiB to the file named by MIGREC_BENCH_RSS_FILE.
import { appendFileSync } from 'node:fs';

const file = process.env.MIGREC_BENCH_RSS_FILE;
if (file) process.on('exit', () => appendFileSync(file, `${Math.round(process.resourceUsage().maxRSS / 1024)}\n`));
