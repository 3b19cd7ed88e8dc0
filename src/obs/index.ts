/** Observability, usable by every layer above core: the logger and the metrics registry. */
export { createLogger, type LogFormat, type Logger, type LogLevel } from './logger.js';
export {
  BLOCK_RELAY_KINDS,
  BLOCK_SOURCES,
  COMPACT_BLOCK_OUTCOMES,
  createMetrics,
  type CompactBlockOutcome,
  TX_SOURCES,
  type BlockSource,
  type Metrics,
  type PeerFailureReason,
  type PeerRequestKind,
  type TxSource,
} from './metrics.js';
