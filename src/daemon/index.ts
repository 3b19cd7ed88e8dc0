/** The daemon's public API: the node's composition root, its configuration and version. */
export { ConfigError, loadConfig, type NodeConfig } from './config.js';
export { ChainmeshNode } from './node.js';
export { VERSION } from './version.js';
