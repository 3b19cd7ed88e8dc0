import { CodedError } from '../core/index.js';

/** Why the peer layer refuses what a peer sent, before reading it; the API answers each with its HTTP status. */
export const PEER_ERROR_CODES = [
  'bad-request',
  'not-found',
  'peer-wrong-network',
  'peer-self',
  'peer-banned',
] as const;

export type PeerErrorCode = (typeof PEER_ERROR_CODES)[number];

export class PeerError extends CodedError<PeerErrorCode> {
  override readonly name = 'PeerError';
}
