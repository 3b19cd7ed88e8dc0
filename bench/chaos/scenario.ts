import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** Every perturbation the scheduler knows, by the name a scenario file uses. */
export const PERTURBATION_KINDS = [
  'kill',
  'kill-while-writing',
  'pause',
  'partition',
  'seed-outage',
  'new-address',
  'join-empty',
  'join',
  'leave',
  'cpu-hog',
  'disk-full',
  'hostile-peer',
] as const;
export type PerturbationKind = (typeof PERTURBATION_KINDS)[number];

const kind = z.enum(PERTURBATION_KINDS);

const fixedPerturbation = z
  .object({
    /** Seconds after the load starts. */
    at: z.number().min(0),
    kind,
    /** How long the fault lasts (pause, partition, outage, hog), in seconds. */
    duration: z.number().min(1).max(600).optional(),
    /** Node name (seed, node-1, ...); default a random one. */
    target: z.string().min(1).optional(),
  })
  .strict();

const scenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes'),
    description: z.string().default(''),
    /** Nodes besides the seed. */
    nodes: z.number().int().min(1).max(12).default(5),
    /** Seconds of load and perturbations, before the final drain. */
    duration: z.number().min(10).max(7200).default(120),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(1),
    mining: z
      .object({
        /** One block every this many seconds, from a random live node (regtest). */
        blockInterval: z.number().min(0.2).max(60).default(2),
      })
      .strict()
      .default({ blockInterval: 2 }),
    load: z
      .object({
        wallets: z.number().int().min(2).max(200).default(16),
        paymentsPerSecond: z.number().min(0).max(50).default(2),
        /** Share of submissions that are invalid on purpose (bad signature, overspend, wrong network). */
        invalidShare: z.number().min(0).max(1).default(0.1),
        /** Share of submissions that are a conflicting pair (one output spent twice, to two nodes). */
        conflictShare: z.number().min(0).max(1).default(0.05),
      })
      .strict()
      .default({ wallets: 16, paymentsPerSecond: 2, invalidShare: 0.1, conflictShare: 0.05 }),
    perturbations: z
      .object({
        /** Random perturbations per minute (times --intensity); 0 for none. */
        perMinute: z.number().min(0).max(30).default(0),
        kinds: z.array(kind).min(1).default(['kill', 'pause', 'partition']),
        /** Range of a random fault's duration, seconds. */
        minDuration: z.number().min(1).default(5),
        maxDuration: z.number().min(1).default(20),
        /** Perturbations at fixed times, besides the random ones. */
        at: z.array(fixedPerturbation).default([]),
        /**
         * The first N nodes (node-1..node-N) are never killed, restarted, wiped or removed by the
         * random schedule (they are still paused, partitioned and starved): a soak needs processes
         * that live the whole run for a leak to show as a slope.
         */
        witnesses: z.number().int().min(0).max(12).default(0),
      })
      .strict()
      .refine((p) => p.minDuration <= p.maxDuration, {
        message: 'minDuration must not exceed maxDuration',
        path: ['minDuration'],
      })
      .default({ perMinute: 0, kinds: ['kill'], minDuration: 5, maxDuration: 20, at: [], witnesses: 0 }),
    assertions: z.array(z.string()).default(['0 lost payments', '0 invariant violations']),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema> & { parsedAssertions: Assertion[] };
export type FixedPerturbation = z.infer<typeof fixedPerturbation>;

/** What a scenario may assert, each parsed from one line of plain text. */
export type Assertion =
  | { text: string; kind: 'height-within'; height: number; withinSec: number }
  | { text: string; kind: 'lost-payments'; max: number }
  | { text: string; kind: 'violations'; max: number }
  | { text: string; kind: 'convergence'; percentile: 50 | 99; maxSec: number }
  | { text: string; kind: 'peak-rss'; maxMb: number }
  | { text: string; kind: 'rss-slope'; maxMbPer10Min: number }
  | { text: string; kind: 'confirmed-payments'; min: number };

const ASSERTION_FORMS = [
  'every node at height >= N within T s',
  '0 lost payments (or: at most N lost payments)',
  '0 invariant violations',
  'convergence p50|p99 <= T s',
  'peak rss <= N MB',
  'rss slope <= N MB per 10 min',
  'at least N confirmed payments',
];

export function parseAssertion(text: string): Assertion | undefined {
  const t = text.trim().replace(/\s+/g, ' ').replace(/≥/g, '>=').replace(/≤/g, '<=');
  let m = /^every node at height >= (\d+) within (\d+(?:\.\d+)?) ?s$/i.exec(t);
  if (m) return { text, kind: 'height-within', height: Number(m[1]), withinSec: Number(m[2]) };
  m = /^(?:(\d+)|at most (\d+)) lost payments?$/i.exec(t);
  if (m) return { text, kind: 'lost-payments', max: Number(m[1] ?? m[2]) };
  m = /^(?:(\d+)|at most (\d+)) invariant violations?$/i.exec(t);
  if (m) return { text, kind: 'violations', max: Number(m[1] ?? m[2]) };
  m = /^convergence p(50|99) <= (\d+(?:\.\d+)?) ?s$/i.exec(t);
  if (m) return { text, kind: 'convergence', percentile: Number(m[1]) as 50 | 99, maxSec: Number(m[2]) };
  m = /^peak rss <= (\d+) ?mb$/i.exec(t);
  if (m) return { text, kind: 'peak-rss', maxMb: Number(m[1]) };
  m = /^rss slope <= (\d+(?:\.\d+)?) ?mb per 10 ?min$/i.exec(t);
  if (m) return { text, kind: 'rss-slope', maxMbPer10Min: Number(m[1]) };
  m = /^at least (\d+) confirmed payments?$/i.exec(t);
  if (m) return { text, kind: 'confirmed-payments', min: Number(m[1]) };
  return undefined;
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** Validates a parsed scenario document; every bad field is named in the error, one per line. */
export function validateScenario(doc: unknown, source: string): Scenario {
  const parsed = scenarioSchema.safeParse(doc ?? {});
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      problems.push(`${path}: ${issue.message}`);
    }
  } else {
    parsed.data.perturbations.at.forEach((p, i) => {
      if (p.at > parsed.data.duration)
        problems.push(`perturbations.at.${i}.at: ${p.at} s is after the scenario's duration`);
    });
    if (parsed.data.perturbations.witnesses > parsed.data.nodes)
      problems.push(
        `perturbations.witnesses: ${parsed.data.perturbations.witnesses} is more than the ${parsed.data.nodes} nodes`,
      );
    parsed.data.assertions.forEach((a, i) => {
      if (!parseAssertion(a))
        problems.push(`assertions.${i}: ${JSON.stringify(a)} is not one of: ${ASSERTION_FORMS.join('; ')}`);
    });
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ScenarioError(`${source}: invalid scenario\n  ${problems.join('\n  ')}`);
  }
  const data = parsed.data;
  return { ...data, parsedAssertions: data.assertions.map((a) => parseAssertion(a) as Assertion) };
}

export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ScenarioError(`${path}: cannot read (${err instanceof Error ? err.message : String(err)})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ScenarioError(`${path}: not YAML (${err instanceof Error ? err.message : String(err)})`);
  }
  return validateScenario(doc, basename(path));
}
