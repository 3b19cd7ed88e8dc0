/**
 * `make chaos`: runs chaos scenarios (scenarios/*.yaml) against a local
 * cluster of real node processes and reports whether the invariants held.
 *
 *   npx tsx bench/chaos/main.ts [--scenario NAME|PATH[,..]] [--seed N] [--duration S]
 *                               [--intensity X] [--nodes N] [--out DIR]
 *                               [--ports FROM-TO] [--docker [--project NAME]]
 *
 * --docker runs the scenarios against the compose cluster instead of local
 * processes (docker-cluster.ts; `make chaos-docker`), in compose project NAME
 * (default chainmesh-chaos-<pid>).
 *
 * --ports FROM-TO (or CHAOS_PORTS=FROM-TO) keeps every port the harness opens
 * (nodes, proxies, the hostile peer, the compose seed) inside that range, for a
 * machine shared with other benches; default 20000-30000, below the kernel's
 * ephemeral range.
 *
 * Without --scenario it runs the default set (DEFAULT_SET). Exit status 0
 * when every scenario passed, 1 when one failed, 2 on bad arguments.
 */
import { mkdirSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePortBlock } from '../../test/helpers/processes.js';
import { DOCKER_PERTURBATIONS, prepareDocker } from './docker-cluster.js';
import { DEFAULT_PORTS, portRange, type PortRange } from './ports.js';
import { runScenario, type RunOptions } from './run.js';
import { summary, writeReports, type RunReport } from './report.js';
import { loadScenario, ScenarioError, type Scenario } from './scenario.js';

const SCENARIO_DIR = resolve(import.meta.dirname, '..', '..', 'scenarios');
export const DEFAULT_SET = ['steady', 'kill-storm', 'split-brain', 'seed-outage', 'churn'];

function fail(message: string): never {
  process.stderr.write(`chaos: ${message}\n`);
  process.exit(2);
}

function positive(name: string, raw: string | undefined, integer: boolean, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max || (integer && !Number.isInteger(n)))
    fail(`--${name} ${JSON.stringify(raw)}: expected ${integer ? 'an integer' : 'a number'} 0-${max}`);
  return n;
}

function scenarioPath(ref: string): string {
  if (ref.endsWith('.yaml') || ref.endsWith('.yml') || ref.includes('/')) return resolve(ref);
  return join(SCENARIO_DIR, `${ref}.yaml`);
}

// Ctrl-C or a kill ends the run through process.exit, so the 'exit' hook of the running scenario
// SIGKILLs its node processes instead of leaving them behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`chaos: ${signal}: stopping the nodes\n`);
    process.exit(130);
  });
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        scenario: { type: 'string' },
        seed: { type: 'string' },
        duration: { type: 'string' },
        intensity: { type: 'string' },
        nodes: { type: 'string' },
        out: { type: 'string' },
        docker: { type: 'boolean' },
        project: { type: 'string' },
        ports: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const seed = positive('seed', args.seed, true, 2 ** 32 - 1);
  const duration = positive('duration', args.duration, false, 7200);
  const intensity = positive('intensity', args.intensity, false, 20) ?? 1;
  const nodes = positive('nodes', args.nodes, true, 12);
  if (nodes === 0) fail('--nodes 0: expected at least 1 node besides the seed');
  if (duration !== undefined && duration < 10) fail(`--duration ${duration}: expected at least 10 seconds`);

  let ports: PortRange = DEFAULT_PORTS;
  try {
    ports = portRange(args.ports ?? process.env.CHAOS_PORTS);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }

  const refs = args.scenario ? args.scenario.split(',').filter(Boolean) : DEFAULT_SET;
  const scenarios: Array<Scenario & { ref: string }> = [];
  for (const ref of refs) {
    const path = scenarioPath(ref);
    if (!existsSync(path)) fail(`--scenario ${ref}: no file ${path}`);
    try {
      const s = loadScenario(path);
      scenarios.push({ ...s, ref, ...(duration ? { duration } : {}), ...(nodes ? { nodes } : {}) });
    } catch (err) {
      if (err instanceof ScenarioError) fail(err.message);
      throw err;
    }
  }

  if (args.project !== undefined && !args.docker) fail('--project: only with --docker');
  const project = args.project ?? `chainmesh-chaos-${process.pid}`;
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(project))
    fail(`--project ${JSON.stringify(project)}: lower-case letters, digits, dashes and underscores`);
  if (args.docker) {
    for (const s of scenarios) {
      // The random kinds count only when the scenario draws any.
      const random = s.perturbations.perMinute > 0 ? s.perturbations.kinds : [];
      const kinds = new Set([...random, ...s.perturbations.at.map((p) => p.kind)]);
      const unsupported = [...kinds].filter((k) => !DOCKER_PERTURBATIONS.has(k));
      if (unsupported.length > 0)
        fail(
          `--docker: scenario ${s.name} uses ${unsupported.join(', ')}, which only the local harness has: run that scenario without --docker`,
        );
    }
  }
  let cluster: RunOptions['cluster'];
  if (args.docker) {
    const log = (line: string) =>
      process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
    try {
      cluster = await prepareDocker({ project, seedPort: await freePortBlock(1, ports), log });
    } catch (err) {
      process.stderr.write(`chaos: --docker: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  }

  const out = resolve(args.out ?? join('.tmp', 'chaos', new Date().toISOString().replace(/[:.]/g, '-')));
  mkdirSync(out, { recursive: true });
  const reports: RunReport[] = [];
  for (const scenario of scenarios) {
    const runSeed = seed ?? scenario.seed;
    const root = join(out, `${scenario.name}-${runSeed}`);
    mkdirSync(root, { recursive: true });
    const log = (line: string) =>
      process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
    try {
      const scenarioArgs = `${args.docker ? '--docker ' : ''}--scenario ${scenario.ref}`;
      reports.push(
        await runScenario({ scenario, seed: runSeed, intensity, root, log, cluster, ports, scenarioArgs }),
      );
    } catch (err) {
      process.stderr.write(
        `chaos: ${scenario.name} seed ${runSeed} could not run: ${err instanceof Error ? err.stack : String(err)}\n`,
      );
      writeReports(out, reports);
      process.exit(1);
    }
    process.stdout.write(`${summary(reports.at(-1) as RunReport)}\n`);
    writeReports(out, reports);
  }
  process.stdout.write(
    `reports: ${join(out, 'report.json')} and report.md; node logs under ${out}/<scenario>-<seed>/logs\n`,
  );
  process.exit(reports.every((r) => r.pass) ? 0 : 1);
}

await main();
