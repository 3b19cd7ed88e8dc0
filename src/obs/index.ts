/** Observability, usable by every layer above core: the logger and the metrics registry. */
export { createLogger, type LogFormat, type Logger, type LogLevel } from './logger.js';
export {
  BLOCK_SOURCES,
  createMetrics,
  TX_SOURCES,
  type BlockSource,
  type Metrics,
  type PeerFailureReason,
  type PeerRequestKind,
  type TxSource,
} from './metrics.js';
