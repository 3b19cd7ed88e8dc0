/**
 * Reading V8 .cpuprofile files (node --cpu-prof) of a node process: self time
 * by function and by module over a time window, so one profile of a whole run
 * can be cut into the phases of a bench.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** µs on CLOCK_MONOTONIC, the clock of process.hrtime in every process of this machine. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileItem {
  name: string;
  /** Share of the busy (non-idle) samples of the window, in %. */
  percent: number;
  /** Most frequent JS caller chain, innermost first (functions only). */
  via?: string;
}

export interface ProfileSummary {
  busyMs: number;
  functions: ProfileItem[];
  modules: ProfileItem[];
  /** Inclusive time under each of the `entries` functions (innermost one on the stack wins), plus "(other)". */
  entries: ProfileItem[];
}

/** Microseconds on the clock of the profiles' timestamps. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

export function loadProfiles(dir: string): CpuProfile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
}

function shortUrl(url: string): string {
  return url.replace(/^.*\/(dist|node_modules)\//, '$1/');
}

/** `node_modules/express`, `node:internal/http`, `dist/mempool`, `(native)`. */
function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `node_modules/${pkg[1]}`;
  const dist = /\/dist\/([^/]+)\//.exec(url);
  if (dist) return `dist/${dist[1]}`;
  const internal = /^node:(internal\/[^/]+|[^/]+)/.exec(url);
  if (internal)
    return `node:${(internal[1] as string).replace(/\.js$/, '').replace(/^internal\/(\w+).*$/, 'internal/$1')}`;
  return shortUrl(url);
}

/** Self time over samples taken between fromUs and toUs, every thread's profile together, idle left out. */
export function summarize(
  profiles: CpuProfile[],
  fromUs: number,
  toUs: number,
  top: number,
  entries: readonly string[] = [],
): ProfileSummary {
  const byEntry = new Map<string, number>();
  const byFunction = new Map<string, { us: number; callers: Map<string, number> }>();
  const byModule = new Map<string, number>();
  let total = 0;
  for (const prof of profiles) {
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    let t = prof.startTime;
    for (let i = 0; i < prof.samples.length; i++) {
      t += prof.timeDeltas[i] ?? 0;
      if (t < fromUs || t > toUs) continue;
      const id = prof.samples[i] as number;
      const frame = byId.get(id)?.callFrame;
      if (!frame || frame.functionName === '(idle)') continue;
      // A sample stands for the interval until the next one.
      const weight = prof.timeDeltas[i + 1] ?? prof.timeDeltas[i] ?? 0;
      const name = `${frame.functionName || '(anonymous)'}${frame.url ? ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ''}`;
      const callers: string[] = [];
      let under: string | undefined = entries.includes(frame.functionName) ? frame.functionName : undefined;
      for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
        const f = byId.get(p)?.callFrame;
        if (!f?.functionName || f.functionName.startsWith('(')) continue;
        if (callers.length < 3) callers.push(f.functionName);
        if (under === undefined && entries.includes(f.functionName)) under = f.functionName;
        if (callers.length >= 3 && (under !== undefined || entries.length === 0)) break;
      }
      byEntry.set(under ?? '(other)', (byEntry.get(under ?? '(other)') ?? 0) + weight);
      const entry = byFunction.get(name) ?? { us: 0, callers: new Map<string, number>() };
      entry.us += weight;
      const via = callers.join(' ← ');
      entry.callers.set(via, (entry.callers.get(via) ?? 0) + weight);
      byFunction.set(name, entry);
      const mod = moduleOf(frame.url, frame.functionName);
      byModule.set(mod, (byModule.get(mod) ?? 0) + weight);
      total += weight;
    }
  }
  const pct = (us: number) => (total > 0 ? (100 * us) / total : 0);
  const functions = [...byFunction.entries()]
    .sort((a, b) => b[1].us - a[1].us)
    .slice(0, top)
    .map(([name, e]) => {
      const [via] = [...e.callers.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];
      return { name, percent: pct(e.us), ...(via ? { via } : {}) };
    });
  const modules = [...byModule.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, percent: pct(us) }));
  const inclusive = [...byEntry.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => ({ name, percent: pct(us) }));
  return { busyMs: total / 1000, functions, modules, entries: inclusive };
}
