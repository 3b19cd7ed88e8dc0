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
export function threadCpu(pid: number | undefined): ThreadCpu | undefined {
  if (pid === undefined) return undefined;
  try {
    let main = 0;
    let others = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const seconds = taskSeconds(pid, tid);
        if (Number(tid) === pid) main = seconds;
        else others += seconds;
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
    return { main, others };
  } catch {
    return undefined;
  }
}

/** CPU spent between two readings; threads that ended in between are lost, so `others` is a lower bound. */
export function cpuSince(before: ThreadCpu | undefined, after: ThreadCpu | undefined): ThreadCpu | undefined {
  if (!before || !after) return undefined;
  return { main: after.main - before.main, others: Math.max(0, after.others - before.others) };
}
