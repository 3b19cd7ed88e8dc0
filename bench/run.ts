/**
 * `make bench [BENCH=filter]`: runs every bench/*.bench.ts (or those whose name
 * contains the filter) in its own Node process, one after another so they do
 * not compete for the two cores, collects their rows, prints one table and
 * writes bench/results/latest.{md,json}.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROW_TAG, type BenchRow } from './lib.js';

// A bench that runs longer than this is killed and reported as failed; a bench
// that needs longer (real node processes) says so with a `bench-timeout-s: N` comment.
const BENCH_TIMEOUT_MS = 120_000;

// Before each bench, the machine gets up to this long to finish what the previous one left running
// (40 node processes exiting, their files closing): a bench started meanwhile measures their noise.
const SETTLE_MAX_MS = 60_000;
const SETTLE_WINDOW_MS = 500;
const IDLE_ENOUGH = 0.9;

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(benchDir, 'results');

async function timeoutOf(file: string): Promise<number> {
  const declared = /bench-timeout-s:\s*(\d+)/.exec(await readFile(path.join(benchDir, file), 'utf8'));
  return declared ? Number(declared[1]) * 1000 : BENCH_TIMEOUT_MS;
}

/** Idle and total jiffies of all CPUs since boot (Linux /proc/stat), or undefined elsewhere. */
function cpuTimes(): { idle: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      ?.trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    if (!fields || fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return undefined;
    // user nice system idle iowait irq softirq steal; guest time (fields 9-10) is already inside user and nice.
    const counted = fields.slice(0, 8);
    // idle and iowait are the CPUs' free time.
    return { idle: (counted[3] ?? 0) + (counted[4] ?? 0), total: counted.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/**
 * Waits until the CPUs are mostly idle over a short window, or SETTLE_MAX_MS
 * passed. /proc/stat counts the whole machine (a container's host included),
 * so a machine that stays busy is reported, not waited for forever.
 */
async function settle(): Promise<{ waitedMs: number; idle?: number; settled: boolean }> {
  const started = performance.now();
  let idle: number | undefined;
  while (performance.now() - started < SETTLE_MAX_MS) {
    const before = cpuTimes();
    await new Promise((r) => setTimeout(r, SETTLE_WINDOW_MS));
    const after = cpuTimes();
    if (!before || !after || after.total === before.total) return { waitedMs: 0, settled: true };
    idle = (after.idle - before.idle) / (after.total - before.total);
    if (idle >= IDLE_ENOUGH) return { waitedMs: performance.now() - started, idle, settled: true };
  }
  return { waitedMs: performance.now() - started, ...(idle !== undefined && { idle }), settled: false };
}

interface BenchOutcome {
  file: string;
  rows: BenchRow[];
  exitCode: number | null;
  durationMs: number;
  error?: string;
}

function runBench(file: string, timeoutMs: number): Promise<BenchOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(benchDir, file)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const rows: BenchRow[] = [];
    let buffered = '';
    let error: string | undefined;
    const onLine = (line: string): void => {
      if (line.startsWith(ROW_TAG)) {
        try {
          rows.push({ ...(JSON.parse(line.slice(ROW_TAG.length)) as BenchRow), bench: file });
        } catch {
          error = `unparsable row: ${line}`;
        }
      } else if (line.length > 0) {
        process.stdout.write(`  [${file}] ${line}\n`);
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    const timer = setTimeout(() => {
      error = `timed out after ${timeoutMs / 1000} s`;
      // SIGTERM first: benches that own child processes stop them on the way out.
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      onLine(buffered);
      if (code !== 0 && error === undefined) error = `exited with code ${code}`;
      resolve({
        file,
        rows,
        exitCode: code,
        durationMs: performance.now() - started,
        ...(error ? { error } : {}),
      });
    });
  });
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 100) return v.toFixed(1);
  return v.toFixed(2);
}

function statusOf(row: BenchRow): string {
  if (row.pass === undefined) return '';
  return row.pass ? 'pass' : 'FAIL';
}

function table(rows: BenchRow[], failures: BenchOutcome[]): string[][] {
  const out = rows.map((r) => [
    r.bench ?? '',
    r.name,
    formatValue(r.value),
    r.unit,
    r.target ?? '',
    statusOf(r),
    r.note ?? '',
  ]);
  for (const f of failures) out.push([f.file, '(bench failed)', '', '', '', 'FAIL', f.error ?? '']);
  return out;
}

const HEADER = ['bench', 'metric', 'value', 'unit', 'target', 'result', 'note'];

function renderText(cells: string[][]): string {
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]): string =>
    c
      .map((v, i) => (i === 2 ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

function renderMarkdown(cells: string[][], meta: Record<string, string>): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    '# chainmesh benchmark results',
    '',
    ...Object.entries(meta).map(([k, v]) => `- ${k}: ${v}`),
    '',
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map((_, i) => (i === 2 ? '---:' : '---')).join(' | ')} |`,
    ...cells.map((c) => `| ${c.map(esc).join(' | ')} |`),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const files = (await readdir(benchDir)).filter((f) => f.endsWith('.bench.ts') && f.includes(filter)).sort();
  if (files.length === 0) {
    console.error(`no bench/*.bench.ts matches "${filter}"`);
    process.exitCode = 1;
    return;
  }
  const outcomes: BenchOutcome[] = [];
  for (const file of files) {
    const { waitedMs, idle, settled } = await settle();
    const busy = settled ? undefined : `machine busy at start: ${Math.round((idle ?? 0) * 100)} % idle`;
    if (busy) console.log(`${busy} after ${SETTLE_MAX_MS / 1000} s of waiting; ${file} runs anyway`);
    else if (waitedMs > SETTLE_WINDOW_MS * 2)
      console.log(`waited ${(waitedMs / 1000).toFixed(1)} s for the machine to go idle`);
    console.log(`running ${file} ...`);
    const outcome = await runBench(file, await timeoutOf(file));
    if (busy) for (const row of outcome.rows) row.note = row.note ? `${row.note}; ${busy}` : busy;
    console.log(`  ${file}: ${outcome.rows.length} rows in ${(outcome.durationMs / 1000).toFixed(1)} s`);
    outcomes.push(outcome);
  }
  const rows = outcomes.flatMap((o) => o.rows);
  const failures = outcomes.filter((o) => o.error !== undefined);
  const cells = table(rows, failures);
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}`,
    platform: `${os.platform()} ${os.release()}`,
  };
  console.log('\n' + renderText(cells));
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'latest.md'), renderMarkdown(cells, meta));
  await writeFile(
    path.join(resultsDir, 'latest.json'),
    JSON.stringify(
      { ...meta, filter, rows, failures: failures.map((f) => ({ file: f.file, error: f.error })) },
      null,
      2,
    ) + '\n',
  );
  console.log(
    `\nwritten ${path.relative(process.cwd(), path.join(resultsDir, 'latest.md'))} and latest.json`,
  );
  if (failures.length > 0) process.exitCode = 1;
}

await main();
