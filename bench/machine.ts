/** Machine facts printed with every benchmark: CPU model, cores, Node version, other load. */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** CPU model, core count, memory and Node version. */
export function machine(): { cpu: string; cores: number; memory_gib: number; node: string } {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version };
}

/** Cumulative (busy, total) jiffies of all CPUs from /proc/stat, or undefined off Linux. */
export function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Machine-wide CPU busy fraction between two `cpuTimes` readings (includes this process). */
export function busyFraction(a: ReturnType<typeof cpuTimes>, b: ReturnType<typeof cpuTimes>): number | undefined {
  if (!a || !b || b.total === a.total) return undefined;
  return (b.busy - a.busy) / (b.total - a.total);
}

/** Median of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
