import { CodedError } from '../core/index.js';

/**
 * Errors the node answers its clients and peers with (requests, readiness,
 * admin), with stable codes. Consensus rejections are core's ValidationError
 * and the peer layer's refusals are p2p's PeerError; errors.ts maps all three.
 */
export const NODE_ERROR_CODES = [
  'bad-request',
  'not-found',
  'unauthorized',
  'admin-disabled',
  'payload-too-large',
  'not-ready',
  'store-unavailable',
  'unsupported-network',
  'peer-wrong-network',
  'peer-self',
  'peer-banned',
  'internal',
] as const;

export type NodeErrorCode = (typeof NODE_ERROR_CODES)[number];

export class NodeError extends CodedError<NodeErrorCode> {
  override readonly name = 'NodeError';
}
