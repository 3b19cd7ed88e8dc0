import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/daemon/config.js';

describe('loadConfig', () => {
  it('has defaults a container can run with', () => {
    const config = loadConfig({ POD_IP: '10.1.2.3' });
    expect(config).toMatchObject({
      network: 'demo',
      port: 3000,
      bindHost: '0.0.0.0',
      advertiseAddr: '10.1.2.3:3000',
      seedHosts: [],
      dataDir: '/data',
      minerEnabled: false,
      miningIntensity: 10,
      maxPeers: 64,
      logLevel: 'info',
      logFormat: 'json',
    });
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      SEED_HOSTS: 'seed:3000, 10.0.0.2:3001',
      ADVERTISE_ADDR: 'node-1.nodes:3000',
      PORT: '3100',
      BIND_HOST: '127.0.0.1',
      DATA_DIR: '/tmp/x',
      NETWORK: 'regtest',
      MINER_ENABLED: 'true',
      MINING_INTENSITY: '25',
      ADMIN_TOKEN: 'secret-token',
      MAX_PEERS: '16',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'pretty',
    });
    expect(config.seedHosts).toEqual(['seed:3000', '10.0.0.2:3001']);
    expect(config.advertiseAddr).toBe('node-1.nodes:3000');
    expect(config.port).toBe(3100);
    expect(config.network).toBe('regtest');
    expect(config.minerEnabled).toBe(true);
    expect(config.miningIntensity).toBe(25);
    expect(config.adminToken).toBe('secret-token');
    expect(config.logFormat).toBe('pretty');
  });

  it('relays compact blocks unless COMPACT_BLOCKS turns them off', () => {
    expect(loadConfig({}).compactBlocks).toBe(true);
    expect(loadConfig({ COMPACT_BLOCKS: '0' }).compactBlocks).toBe(false);
    expect(loadConfig({ COMPACT_BLOCKS: 'off' }).compactBlocks).toBe(false);
    expect(loadConfig({ COMPACT_BLOCKS: 'true' }).compactBlocks).toBe(true);
    expect(() => loadConfig({ COMPACT_BLOCKS: '2' })).toThrow(
      'config error: COMPACT_BLOCKS="2": expected true or false (1/0, yes/no, on/off)',
    );
  });

  it('advertises the pod IP with the port when ADVERTISE_ADDR is unset', () => {
    expect(loadConfig({ POD_IP: 'fd00::5', PORT: '4000' }).advertiseAddr).toBe('[fd00::5]:4000');
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['SEED_HOSTS', 'seed'],
    ['SEED_HOSTS', 'seed:0'],
    ['NETWORK', 'mainnet'],
    ['MINER_ENABLED', 'maybe'],
    ['MINING_INTENSITY', '0'],
    ['MINING_INTENSITY', '12.5'],
    ['ADMIN_TOKEN', 'short'],
    ['LOG_FORMAT', 'xml'],
    ['POD_IP', 'not-an-ip'],
    ['ADVERTISE_ADDR', 'no-port'],
    ['MAX_PEERS', '-1'],
    ['MINER_ADDRESS', 'not base58 0OIl'],
    ['COMPACT_BLOCKS', 'sometimes'],
  ])('rejects %s=%s naming the variable and what is expected', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(new RegExp(`^config error: ${name}=".*": expected .+`));
  });
});
