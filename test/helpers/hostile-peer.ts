/**
 * A misbehaving peer for tests and the chaos harness: it sends honest nodes
 * invalid blocks (bad proof of work, bad merkle root, inflation, a double
 * spend), endless orphan chains, oversized and garbage bodies, requests that
 * never finish, floods of advertisements with fake addresses, and requests
 * from another network; and, as a server, it answers the nodes that dial it
 * with junk or not at all. Every attack returns the HTTP status it got, so
 * the caller can check it was refused and that the node kept serving.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import {
  decodeBlock,
  encodeBlock,
  fromHex,
  getNetwork,
  toHex,
  txHash,
  type Block,
  type Transaction,
} from '../../src/core/index.js';
import { ChainBuilder, payTo, testKey, type ParentRef } from './chain-builder.js';

const regtest = getNetwork('regtest');
const OTHER_NETWORK = getNetwork('demo').genesisHash;

export type AttackKind =
  | 'bad-pow'
  | 'bad-merkle-root'
  | 'inflation'
  | 'double-spend'
  | 'orphan-chain'
  | 'oversized-body'
  | 'garbage-json'
  | 'wrong-network'
  | 'slow-request'
  | 'advert-flood';

export const ATTACK_KINDS: readonly AttackKind[] = [
  'bad-pow',
  'bad-merkle-root',
  'inflation',
  'double-spend',
  'orphan-chain',
  'oversized-body',
  'garbage-json',
  'wrong-network',
  'slow-request',
  'advert-flood',
];

export interface AttackResult {
  kind: AttackKind;
  /** HTTP statuses the node answered (0: the connection was closed or timed out). */
  statuses: number[];
}

export class HostilePeer {
  readonly nodeId = randomBytes(16).toString('hex');
  private server: Server | undefined;
  private readonly slowSockets = new Set<Socket>();
  private readonly builder = new ChainBuilder(regtest);
  /** Fake addresses it advertised, to check that peer books drop them. */
  readonly fakeAddresses: string[] = [];

  constructor(readonly port: number) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Listens as a "peer" that answers junk, or never answers, to whoever dials it. */
  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const roll = Math.random();
      if (roll < 0.4) return; // never answers: the caller's deadline must cut it
      if (roll < 0.7) {
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-chainmesh-network': regtest.genesisHash,
        });
        res.end('{"blocks": [12, "zz"], "more": "yes"'); // truncated junk
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-chainmesh-network': OTHER_NETWORK });
      res.end('{}');
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.slowSockets) s.destroy();
    this.slowSockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private headers(network = regtest.genesisHash): Record<string, string> {
    return {
      'content-type': 'application/json',
      'x-chainmesh-node-id': this.nodeId,
      'x-chainmesh-network': network,
      'x-chainmesh-addr': this.address,
    };
  }

  private async post(url: string, body: string, network?: string): Promise<number> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: this.headers(network),
        body,
        signal: AbortSignal.timeout(15_000),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  private async tipOf(nodeUrl: string): Promise<{ parent: ParentRef; block: Block } | undefined> {
    try {
      const info = (await (await fetch(`${nodeUrl}/info`)).json()) as { tipHash: string };
      const res = (await (await fetch(`${nodeUrl}/block/${info.tipHash}?format=hex`)).json()) as {
        hex: string;
        height: number;
      };
      const block = decodeBlock(fromHex(res.hex));
      return { parent: { header: block.header, height: res.height }, block };
    } catch {
      return undefined;
    }
  }

  private sendBlock(nodeUrl: string, block: Block): Promise<number> {
    return this.post(`${nodeUrl}/block`, JSON.stringify({ block: toHex(encodeBlock(block)) }));
  }

  /** One attack of `kind` against the node at `nodeUrl` (its own port, not a proxy). */
  async attack(nodeUrl: string, kind: AttackKind): Promise<AttackResult> {
    const statuses: number[] = [];
    const tip = ['bad-pow', 'bad-merkle-root', 'inflation', 'double-spend'].includes(kind)
      ? await this.tipOf(nodeUrl)
      : undefined;
    const tag = Math.floor(Math.random() * 1e9);
    switch (kind) {
      case 'bad-pow':
        if (tip)
          statuses.push(await this.sendBlock(nodeUrl, this.builder.block(tip.parent, { badPow: true, tag })));
        break;
      case 'bad-merkle-root':
        if (tip)
          statuses.push(
            await this.sendBlock(
              nodeUrl,
              this.builder.block(tip.parent, { merkleRoot: randomBytes(32), tag }),
            ),
          );
        break;
      case 'inflation':
        if (tip)
          statuses.push(
            await this.sendBlock(
              nodeUrl,
              this.builder.block(tip.parent, { coinbaseValue: 1_000_000n * 100_000_000n, tag }),
            ),
          );
        break;
      case 'double-spend': {
        if (!tip) break;
        // One coin (the tip's coinbase output) spent by two transactions in one block.
        const coinbase = tip.block.txs[0];
        if (!coinbase) break;
        const spend = (to: number): Transaction => ({
          version: 1,
          inputs: [
            { prevTxid: txHash(coinbase), prevVout: 0, scriptSig: new Uint8Array(0), sequence: 0xffffffff },
          ],
          outputs: [payTo(testKey(to), 1000n)],
          locktime: 0,
        });
        statuses.push(
          await this.sendBlock(nodeUrl, this.builder.block(tip.parent, { txs: [spend(1), spend(2)], tag })),
        );
        break;
      }
      case 'orphan-chain': {
        // Blocks on a parent nobody has: the orphan pool must stay bounded.
        let parent: ParentRef = {
          header: { ...regtest.genesis.header, prevHash: randomBytes(32), nonce: tag },
          height: 1000,
        };
        for (let i = 0; i < 20; i++) {
          const block = this.builder.block(parent, { tag });
          statuses.push(await this.sendBlock(nodeUrl, block));
          parent = { header: block.header, height: parent.height + 1 };
        }
        break;
      }
      case 'oversized-body':
        statuses.push(await this.post(`${nodeUrl}/block`, JSON.stringify({ block: 'ab'.repeat(3_000_000) })));
        break;
      case 'garbage-json':
        for (const path of ['/block', '/transactions', '/new_node_advertisement', '/sync/blocks'])
          statuses.push(await this.post(`${nodeUrl}${path}`, '{"block": [1, 2, {{{ not json'));
        break;
      case 'wrong-network':
        statuses.push(
          await this.post(
            `${nodeUrl}/new_node_advertisement`,
            JSON.stringify({ hostname: this.address, nodeId: this.nodeId, network: OTHER_NETWORK }),
            OTHER_NETWORK,
          ),
        );
        break;
      case 'slow-request':
        statuses.push(await this.slowRequest(nodeUrl));
        break;
      case 'advert-flood':
        for (let i = 0; i < 50; i++) {
          const fake = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${1 + (i % 250)}:3000`;
          this.fakeAddresses.push(fake);
          const peers = Array.from({ length: 20 }, () => ({
            hostname: `192.0.2.${Math.floor(Math.random() * 250)}:${1000 + Math.floor(Math.random() * 9000)}`,
            nodeId: randomBytes(16).toString('hex'),
            lastSeen: Date.now(),
          }));
          this.fakeAddresses.push(...peers.map((p) => p.hostname));
          statuses.push(
            await this.post(
              `${nodeUrl}/new_node_advertisement`,
              JSON.stringify({
                hostname: fake,
                nodeId: randomBytes(16).toString('hex'),
                network: regtest.genesisHash,
                peers,
              }),
            ),
          );
        }
        // And itself, a peer that never answers properly (its server above).
        statuses.push(
          await this.post(
            `${nodeUrl}/new_node_advertisement`,
            JSON.stringify({ hostname: this.address, nodeId: this.nodeId, network: regtest.genesisHash }),
          ),
        );
        break;
    }
    return { kind, statuses };
  }

  /** A request that announces a body and never sends it: the node must time it out, not wait forever. */
  private slowRequest(nodeUrl: string): Promise<number> {
    const url = new URL(nodeUrl);
    return new Promise((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /block HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"block":"`,
        );
        // Trickle a byte now and then, never the whole body.
        const trickle = setInterval(() => socket.write('a'), 2000);
        socket.once('close', () => clearInterval(trickle));
      });
      this.slowSockets.add(socket);
      socket.on('error', () => undefined);
      // Resolve at once: the socket stays open in the background until the node drops it or stop().
      resolve(0);
    });
  }

  /** Slow connections the node has not closed yet. */
  get openSlowRequests(): number {
    return [...this.slowSockets].filter((s) => !s.destroyed).length;
  }
}
