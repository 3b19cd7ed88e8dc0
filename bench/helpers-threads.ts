/**
 * CPU time per thread of another process, from Linux's /proc: the request
 * thread (the main thread, whose id is the process id) apart from every other
 * thread (script and PoW workers, V8's GC helpers, libuv). Unlike
 * --cpu-prof, reading it costs the measured process nothing: the profiler
 * inflates the request thread's share whenever workers run (a postMessage
 * measured 9 µs per transaction unprofiled and 72 µs profiled).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadCpu {
  /** CPU seconds of the main thread. */
  main: number;
  /** CPU seconds of every other thread, summed. */
  others: number;
}

/** CPU seconds so far of each thread of a process, by thread id. */
export type ThreadSnapshot = ReadonlyMap<number, number>;

/** Clock ticks per second of /proc's utime and stime: USER_HZ, 100 on every Linux ABI Node supports. */
const USER_HZ = 100;

function taskSeconds(pid: number, tid: string): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  // Fields after the parenthesised command name, which may itself hold spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); the slice starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/** Undefined where /proc is not there (not Linux) or the process is gone. */
export function threadCpu(pid: number | undefined): ThreadSnapshot | undefined {
  if (pid === undefined) return undefined;
  try {
    const seconds = new Map<number, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        seconds.set(Number(tid), taskSeconds(pid, tid));
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
    return seconds;
  } catch {
    return undefined;
  }
}

/**
 * CPU spent between two snapshots of process `pid`, thread by thread: a thread
 * started in between counts from zero; one that ended in between is lost, so
 * `others` is a lower bound (script workers live as long as the node).
 */
export function cpuSince(
  pid: number | undefined,
  before: ThreadSnapshot | undefined,
  after: ThreadSnapshot | undefined,
): ThreadCpu | undefined {
  if (pid === undefined || !before || !after) return undefined;
  let main = 0;
  let others = 0;
  for (const [tid, seconds] of after) {
    const spent = seconds - (before.get(tid) ?? 0);
    if (tid === pid) main = spent;
    else others += spent;
  }
  return { main, others };
}
