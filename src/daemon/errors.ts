/**
 * Errors of the node layer (configuration, peers, API) with stable codes.
 * Consensus rejections are core's ValidationError; the API maps both.
 */
export const NODE_ERROR_CODES = [
  'bad-request',
  'not-found',
  'unauthorized',
  'admin-disabled',
  'payload-too-large',
  'not-ready',
  'unsupported-network',
  'peer-wrong-network',
  'peer-self',
  'peer-banned',
  'internal',
] as const;

export type NodeErrorCode = (typeof NODE_ERROR_CODES)[number];

export class NodeError extends Error {
  override readonly name = 'NodeError';
  constructor(
    readonly code: NodeErrorCode,
    message?: string,
  ) {
    super(message ?? code);
  }
}
