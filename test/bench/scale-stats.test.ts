import { describe, expect, it } from 'vitest';
import { fit, kindCounts } from '../../bench/scale/stats.js';

describe('bench/scale/stats', () => {
  it('sums a counter of the block relay kinds by kind, whatever other labels it has', () => {
    const metrics = [
      '# HELP chainmesh_p2p_messages_sent_total Messages sent to peers',
      'chainmesh_p2p_messages_sent_total{kind="cmpctblock"} 7',
      'chainmesh_p2p_messages_sent_total{kind="getblocktxn"} 2',
      'chainmesh_p2p_messages_sent_total{kind="blocktxn"} 1',
      'chainmesh_p2p_messages_sent_total{result="ok",kind="block"} 3',
      'chainmesh_p2p_messages_sent_total{result="failed",kind="block"} 1',
      'chainmesh_p2p_messages_sent_total{kind="ping"} 90',
      'chainmesh_p2p_messages_sent_totalx{kind="block"} 50',
      'chainmesh_p2p_bytes_sent_total{kind="block"} 4000',
    ].join('\n');
    expect(kindCounts(metrics, 'chainmesh_p2p_messages_sent_total')).toEqual({
      cmpctblock: 7,
      getblocktxn: 2,
      blocktxn: 1,
      block: 4,
    });
    expect(kindCounts(metrics, 'chainmesh_p2p_bytes_sent_total')).toEqual({ block: 4000 });
  });

  it('fits a line by least squares with its R²', () => {
    const exact = fit([1, 2, 3, 4], [3, 5, 7, 9]);
    expect(exact.slope).toBeCloseTo(2);
    expect(exact.intercept).toBeCloseTo(1);
    expect(exact.r2).toBeCloseTo(1);
    const ns = [10, 25, 50, 100];
    const logShaped = ns.map((n) => 40 * Math.log(n));
    expect(fit(ns.map(Math.log), logShaped).r2).toBeGreaterThan(fit(ns, logShaped).r2);
    const noisy = fit([1, 2, 3], [1, 3, 2]);
    expect(noisy.r2).toBeGreaterThan(0);
    expect(noisy.r2).toBeLessThan(1);
  });
});
