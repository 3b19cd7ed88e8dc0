import { z } from 'zod';

/** Request-shape schemas shared by the routes. Consensus decoding happens in core. */
export const hexString = (maxBytes: number) =>
  z
    .string()
    .max(maxBytes * 2, `at most ${maxBytes} bytes of hex`)
    .regex(/^(?:[0-9a-fA-F]{2})+$/, 'even-length hex');

export const hash = z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex characters');

export const nonNegativeInt = (max: number) => z.coerce.number().int().min(0).max(max);

export const MAX_BLOCK_HEX_BYTES = 4_000_000;
export const MAX_TX_BYTES = 100_000;
export const MAX_TX_BATCH = 1000;

export const listLimit = z.object({ limit: nonNegativeInt(10_000).optional() });

export const blockBody = z.object({ block: hexString(MAX_BLOCK_HEX_BYTES) }).strict();

/** A BIP152 compact block (HeaderAndShortIDs), hex: never larger than the block it stands for. */
export const compactBlockBody = z.object({ cmpctblock: hexString(MAX_BLOCK_HEX_BYTES) }).strict();

/** A BIP152 getblocktxn (BlockTransactionsRequest), hex: a hash and at most one index per transaction of a block. */
export const blockTxnRequestBody = z.object({ getblocktxn: hexString(400_000) }).strict();

export const transactionsBody = z.union([
  z.object({ tx: hexString(MAX_TX_BYTES) }).strict(),
  z.object({ txs: z.array(hexString(MAX_TX_BYTES)).min(1).max(MAX_TX_BATCH) }).strict(),
]);

export const peerInfo = z.object({
  hostname: z.string().min(3).max(260),
  nodeId: z.string().regex(/^[0-9a-f]{32}$/),
  lastSeen: z.number().int().nonnegative(),
});

export const advertisementBody = z.object({
  hostname: z.string().min(3).max(260),
  nodeId: z.string().regex(/^[0-9a-f]{32}$/),
  network: hash,
  height: z.number().int().nonnegative().optional(),
  chainWork: z
    .string()
    .regex(/^[0-9a-f]{1,64}$/)
    .optional(),
  compactBlocks: z.boolean().optional(),
  peers: z.array(peerInfo).max(64).optional(),
});

export const syncBody = z
  .object({
    locator: z.array(hash).min(1).max(64),
    limit: z.number().int().min(1).max(500).optional(),
  })
  .strict();

export const generateBody = z
  .object({
    count: z.number().int().min(1).max(1000),
    address: z.string().min(1).max(100).optional(),
  })
  .strict();

/** Full block views are large: a page holds at most 50. */
export const pagination = z.object({
  limit: nonNegativeInt(50).optional(),
  offset: nonNegativeInt(Number.MAX_SAFE_INTEGER).optional(),
});
