import type { ErrorRequestHandler } from 'express';
import { ZodError } from 'zod';
import { CodedError, ValidationError } from '../core/index.js';
import { PeerError } from '../p2p/index.js';
import { NodeError, type NodeErrorCode } from './node-error.js';

export interface ApiError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

const NODE_STATUS: Record<NodeErrorCode, number> = {
  'bad-request': 400,
  'not-found': 404,
  unauthorized: 401,
  'admin-disabled': 403,
  'payload-too-large': 413,
  'not-ready': 503,
  'store-unavailable': 503,
  'unsupported-network': 400,
  'peer-wrong-network': 409,
  'peer-self': 409,
  'peer-banned': 403,
  internal: 500,
};

/** Consensus rejections that mean "already have it / conflicts", not "malformed". */
const CONFLICT_CODES = new Set(['txn-already-known', 'txn-mempool-conflict']);

/** HTTP status of a consensus or policy rejection. */
export function statusForReject(code: string): number {
  return CONFLICT_CODES.has(code) ? 409 : 400;
}

/** The one place where errors become HTTP statuses. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ValidationError) {
    return { status: statusForReject(err.code), code: err.code, message: err.message };
  }
  // The chain's StoreWriteError, known by its code: the api does not import the chain layer.
  if (err instanceof CodedError && err.code === 'store-unavailable') {
    return { status: 503, code: err.code, message: 'the node cannot write to its store (disk full?)' };
  }
  // PeerError's codes are a subset of NodeError's, so this table covers both (the compiler checks it).
  if (err instanceof NodeError || err instanceof PeerError)
    return { status: NODE_STATUS[err.code], code: err.code, message: err.message };
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return { status: 400, code: 'bad-request', message: `${where}${issue?.message ?? 'invalid request'}` };
  }
  // body-parser errors carry `type` and `status`.
  const typed = err as { type?: unknown; status?: unknown; message?: unknown };
  if (typed.type === 'entity.too.large') {
    return { status: 413, code: 'payload-too-large', message: 'request body exceeds the limit' };
  }
  if (typed.type === 'entity.parse.failed') {
    return { status: 400, code: 'bad-request', message: 'request body is not valid JSON' };
  }
  if (typeof typed.status === 'number' && typed.status >= 400 && typed.status < 500) {
    return { status: typed.status, code: 'bad-request', message: String(typed.message ?? 'bad request') };
  }
  return { status: 500, code: 'internal', message: 'internal error' };
}

export function errorHandler(onError: (error: ApiError, cause: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const apiError = toApiError(err);
    onError(apiError, err);
    res.status(apiError.status).json({ error: apiError.code, message: apiError.message });
  };
}
