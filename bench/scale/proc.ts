/**
 * What one process costs the machine, read from /proc (Linux): resident and proportional set
 * size, threads, open file descriptors and CPU time. PSS (smaps_rollup) divides every shared
 * page by the processes that map it, so the node binary's pages count once per machine: summed
 * over 100 nodes it is what "100 nodes fit in 4 GB" means; RSS counts them in every process.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcSample {
  rssKb: number;
  pssKb: number;
  threads: number;
  fds: number;
  /** utime + stime of all threads, in seconds. */
  cpuSec: number;
}

/** Clock ticks per second of /proc/PID/stat (USER_HZ: 100 on every Linux that runs Node.js). */
const USER_HZ = 100;

function kbField(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

export function sampleProcess(pid: number): ProcSample {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  // the command name may hold spaces and parentheses: fields start after the last ')'
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  return {
    rssKb: kbField(rollup, 'Rss'),
    pssKb: kbField(rollup, 'Pss'),
    threads: kbThreads(status),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    cpuSec: ticks / USER_HZ,
  };
}

function kbThreads(status: string): number {
  const match = /^Threads:\s+(\d+)/m.exec(status);
  return match ? Number(match[1]) : Number.NaN;
}

export interface IdleCost {
  rssMb: number;
  pssMb: number;
  threads: number;
  fds: number;
  /** CPU seconds the process used per minute of wall time over the window. */
  cpuSecPerMin: number;
}

/**
 * Idle cost of each process over `windowMs`: memory, threads and fds at the end, CPU as the
 * difference of two samples divided by the elapsed wall time.
 */
export async function idleCost(pids: readonly number[], windowMs: number): Promise<IdleCost[]> {
  const before = pids.map(sampleProcess);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const minutes = (performance.now() - t0) / 60_000;
  return pids.map((pid, i) => {
    const after = sampleProcess(pid);
    return {
      rssMb: after.rssKb / 1024,
      pssMb: after.pssKb / 1024,
      threads: after.threads,
      fds: after.fds,
      cpuSecPerMin: (after.cpuSec - (before[i] as ProcSample).cpuSec) / minutes,
    };
  });
}

/** Mean of each field over the processes. */
export function meanCost(costs: readonly IdleCost[]): IdleCost {
  const mean = (pick: (c: IdleCost) => number) =>
    costs.reduce((a, c) => a + pick(c), 0) / Math.max(1, costs.length);
  return {
    rssMb: mean((c) => c.rssMb),
    pssMb: mean((c) => c.pssMb),
    threads: mean((c) => c.threads),
    fds: mean((c) => c.fds),
    cpuSecPerMin: mean((c) => c.cpuSecPerMin),
  };
}
