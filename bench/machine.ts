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

/** CPU ticks (user + system) of this process and of its waited-for children, from /proc/self/stat. */
export function ownTicks(): number | undefined {
  try {
    const s = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime is field 14.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
    return f[11] + f[12] + f[13] + f[14];
  } catch {
    return undefined;
  }
}

/** The load on the machine over one measurement, with this process tree's own share taken out. */
export interface LoadReading {
  /** Machine-wide busy fraction of all cores (this process tree included). */
  machine_busy: number | null;
  /** Busy fraction of all cores used by other processes (the other load). */
  other_busy: number | null;
  /** The same in cores (other_busy x cores). */
  other_cores: number | null;
  /** Wall seconds of the measurement. */
  wall_s: number;
}

/**
 * Start measuring the load; call the returned function when the measurement ends. Children
 * count as this process tree only once they have been waited for (spawnSync waits).
 */
export function loadMeter(): () => LoadReading {
  const c0 = cpuTimes();
  const o0 = ownTicks();
  const t0 = performance.now();
  return () => {
    const c1 = cpuTimes();
    const o1 = ownTicks();
    const wall = (performance.now() - t0) / 1000;
    const busy = busyFraction(c0, c1);
    if (!c0 || !c1 || busy === undefined || o0 === undefined || o1 === undefined) {
      return { machine_busy: busy ?? null, other_busy: null, other_cores: null, wall_s: Number(wall.toFixed(3)) };
    }
    const other = Math.min(1, Math.max(0, (c1.busy - c0.busy - (o1 - o0)) / (c1.total - c0.total)));
    const r3 = (x: number) => Number(x.toFixed(3));
    return { machine_busy: r3(busy), other_busy: r3(other), other_cores: r3(other * cpus().length), wall_s: r3(wall) };
  };
}
