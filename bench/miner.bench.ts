/**
 * Miner hash rate through the real worker pool (abort flag, duty cycle,
 * progress reports included), at full speed on one and two threads and at
 * MINING_INTENSITY=10 — where both the hash rate and the process CPU time
 * should be about a tenth of one core's.
 */
import { dutyCycle, FULL_SPEED, type DutyCycle } from '../src/miner/duty-cycle.js';
import { PowWorkers } from '../src/miner/pow-workers.js';
import { report, round } from './lib.js';

const DURATION_MS = 4000;
// Target zero: no hash qualifies, so the search runs for the whole measurement.
const NEVER = new Uint8Array(32);

async function measure(threads: number, duty: DutyCycle): Promise<{ rate: number; cpuShare: number }> {
  let hashes = 0;
  const pool = new PowWorkers(threads, (n) => (hashes += n));
  const header = new Uint8Array(76).fill(threads);
  // Warm up (thread start, JIT) before measuring.
  const warm = pool.mine(header, NEVER, duty);
  await new Promise((r) => setTimeout(r, 800));
  const h0 = hashes;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, DURATION_MS));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rate = ((hashes - h0) * 1000) / elapsed;
  pool.abort();
  await warm;
  await pool.close();
  return { rate, cpuShare: (cpu.user + cpu.system) / 1000 / elapsed };
}

const one = await measure(1, FULL_SPEED);
report('miner hash rate, 1 thread, full speed', round(one.rate / 1e6, 2), 'MH/s', {
  note: `process CPU ${round(one.cpuShare * 100, 0)} % of one core`,
});
const two = await measure(2, FULL_SPEED);
report('miner hash rate, 2 threads, full speed', round(two.rate / 1e6, 2), 'MH/s', {
  note: `${round(two.rate / one.rate, 2)}× one thread`,
});
const tenth = await measure(1, dutyCycle(10, 1));
// CPU time is the goal (a laptop stays usable); the hash-rate ratio is distorted when full speed was starved by load.
report('miner at MINING_INTENSITY=10: process CPU', round(tenth.cpuShare * 100, 1), '% of one core', {
  max: 15,
  note: `hash rate ${round((tenth.rate / one.rate) * 100, 1)} % of the 1-thread full-speed run`,
});
