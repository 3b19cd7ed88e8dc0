import { z } from 'zod';

/**
 * The node-to-node protocol as data: headers every request carries and the
 * shapes of every reply. Replies are parsed with these schemas before anything
 * in them is believed, so a peer answering garbage is just a failed request.
 */
export const HEADER_NODE_ID = 'x-chainmesh-node-id';
export const HEADER_NETWORK = 'x-chainmesh-network';
export const HEADER_ADDR = 'x-chainmesh-addr';
/**
 * On a relayed block: the peers its sender knows to have been sent it (those
 * the sender pushed it to, the sender itself, and whom its own sender named),
 * as short ids, comma-separated. The receiver forwards the block only to peers
 * not named, so a block its maker pushed to the whole cluster is not pushed
 * around it again. Only a lie of the sender's own can cost a named peer the
 * push, and that peer still learns of the block by gossip and sync.
 */
export const HEADER_RELAYED_TO = 'x-chainmesh-relayed-to';
/**
 * On GET /ping: the pinger's chain work (hex, as in a ping reply). A known peer's ping that claims no
 * more work than ours keeps it live here without a ping of our own (PeerBook.markHeard): one ping per
 * pair of peers instead of two. A claim of more work counts for nothing: we ping it back, and only
 * that answer, to our own request, is what sync trusts.
 */
export const HEADER_CHAIN_WORK = 'x-chainmesh-chain-work';
/** Most short ids a relayed-to header may carry. */
export const MAX_RELAYED_TO = 64;
const SHORT_ID_CHARS = 8;
const RELAYED_TO = new RegExp(
  `^[0-9a-f]{${SHORT_ID_CHARS}}(?:,[0-9a-f]{${SHORT_ID_CHARS}}){0,${MAX_RELAYED_TO - 1}}$`,
);

/** A node id's first 32 bits: enough to tell apart the few dozen peers a relay names. */
export function shortId(nodeId: string): string {
  return nodeId.slice(0, SHORT_ID_CHARS);
}

/** The relayed-to header for a push naming `relayedTo`: none when there is nothing to say. */
export function relayedToHeaders(relayedTo: readonly string[]): Record<string, string> | undefined {
  return relayedTo.length === 0 ? undefined : { [HEADER_RELAYED_TO]: relayedTo.join(',') };
}

/** The short ids of a relayed-to header, or undefined when it is not one. */
export function parseRelayedTo(value: string): string[] | undefined {
  return RELAYED_TO.test(value) ? value.split(',') : undefined;
}

/** Most peers one advertisement may carry (the API refuses more). */
export const MAX_SAMPLE = 64;
/** Most blocks one sync reply may carry. */
export const MAX_SYNC_BLOCKS = 500;
/** Longest locator the API accepts. */
export const MAX_LOCATOR = 64;

const nodeId = z.string().regex(/^[0-9a-f]{32}$/);
const HOST_PORT = /^[^\s/?#@]{1,253}:(\d{1,5})$/;

/** `host:port` as peers advertise themselves (a name, IPv4, or bracketed IPv6, and a port 1–65535). */
export function isHostPort(s: string): boolean {
  const m = HOST_PORT.exec(s);
  const port = Number(m?.[1]);
  return m !== null && port >= 1 && port <= 65535;
}

/** The host part of `host:port`, without IPv6 brackets. */
export function hostOf(hostPort: string): string {
  const host = hostPort.slice(0, hostPort.lastIndexOf(':'));
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

const hostPort = z.string().max(260).refine(isHostPort, 'host:port');
const hash = z.string().regex(/^[0-9a-f]{64}$/);
const CHAIN_WORK_HEX = /^[0-9a-f]{1,64}$/;
const chainWork = z.string().regex(CHAIN_WORK_HEX);
const hex = z.string().regex(/^(?:[0-9a-f]{2})*$/);

export const peerInfoSchema = z.object({
  hostname: hostPort,
  nodeId,
  lastSeen: z.number().int().nonnegative(),
});

export const advertisementReplySchema = z.object({
  accepted: z.literal(true),
  nodeId,
  network: hash,
  /** The replier's advertised address, for people: a peer is recorded at the address that answered. */
  hostname: hostPort.optional(),
  height: z.number().int().nonnegative(),
  tipHash: hash,
  chainWork,
  /** The replier takes compact blocks (BIP152) at POST /cmpctblock. */
  compactBlocks: z.boolean().optional(),
  // One bad entry must not spoil the rest of a sample (nor gossip with its sender): filtered, not refused.
  peers: z
    .array(z.unknown())
    .max(MAX_SAMPLE * 4)
    .transform((items) => items.flatMap((p) => validPeerInfo(p))),
});

export const knownNodesReplySchema = z
  .array(z.unknown())
  .max(10_000)
  .transform((items) => items.flatMap((p) => validPeerInfo(p)));

function validPeerInfo(p: unknown): z.infer<typeof peerInfoSchema>[] {
  const r = peerInfoSchema.safeParse(p);
  return r.success ? [r.data] : [];
}

/** GET /ping: who answers at an address, on which network, with which chain (liveness of a tried peer). */
export const pingReplySchema = z.object({
  nodeId,
  network: hash,
  height: z.number().int().nonnegative(),
  tipHash: hash,
  chainWork,
  compactBlocks: z.boolean().optional(),
});

export const blockReplySchema = z.object({ status: z.string(), hash });

/** POST /cmpctblock: what became of the block, and how it was rebuilt. */
export const compactBlockReplySchema = z.object({ status: z.string(), hash, outcome: z.string().optional() });

/** POST /getblocktxn: a BIP152 blocktxn message, hex. */
export const blockTxnReplySchema = z.object({ blocktxn: hex });

export const transactionsReplySchema = z.object({ results: z.array(z.unknown()) });

export const syncReplySchema = z.object({
  blocks: z.array(hex).max(MAX_SYNC_BLOCKS),
  more: z.boolean(),
});

export type PeerInfo = z.infer<typeof peerInfoSchema>;
export type AdvertisementReply = z.infer<typeof advertisementReplySchema>;
export type SyncReply = z.infer<typeof syncReplySchema>;
export type PingReply = z.infer<typeof pingReplySchema>;

/** What a node sends in POST /new_node_advertisement (the API validates it). */
export interface AdvertisementBody {
  hostname: string;
  nodeId: string;
  network: string;
  height?: number;
  chainWork?: string;
  /** The sender takes compact blocks (BIP152) at POST /cmpctblock. */
  compactBlocks?: boolean;
  peers?: PeerInfo[];
}

/** Chain work travels as 64 hex digits, like Bitcoin's `chainwork`. */
export function encodeChainWork(work: bigint): string {
  return work.toString(16).padStart(64, '0');
}

export function decodeChainWork(hexWork: string): bigint {
  return BigInt('0x' + hexWork);
}

/** HEADER_CHAIN_WORK as a peer sent it: undefined when absent or not chain work. */
export function parseChainWorkHeader(value: string | undefined): bigint | undefined {
  return value !== undefined && CHAIN_WORK_HEX.test(value) ? decodeChainWork(value) : undefined;
}
