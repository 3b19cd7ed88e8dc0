import { ConfigError, loadConfig, type NodeConfig } from '../node/config.js';
import { ChainmeshNode } from '../node/node.js';

/** Exit code for configuration errors: the operator has to change something. */
export const EXIT_CONFIG = 2;
const STOP_DEADLINE_MS = 5000;

/**
 * `chainmesh node`: one node configured by the environment, as in a container.
 * SIGTERM/SIGINT stop it gracefully; POST /restart stops it and starts it again
 * from its data dir in the same process.
 */
export async function runNode(env: NodeJS.ProcessEnv): Promise<void> {
  let config: NodeConfig;
  try {
    config = loadConfig(env, { isTTY: process.stderr.isTTY });
  } catch (err) {
    exitOnConfigError(err);
    throw err;
  }

  let node = await startOrExit(config);
  let restarting: Promise<void> | undefined;
  const watchRestart = (current: ChainmeshNode) =>
    current.onRestartRequested(() => {
      restarting ??= (async () => {
        await current.stop();
        try {
          node = await startOrExit(config);
        } catch (err) {
          // The old node is gone and a new one could not start: a supervisor can do better than a half-alive process.
          process.stderr.write(
            `chainmesh: restart failed: ${err instanceof Error ? err.message : String(err)}\n`,
          );
          process.exit(1);
        }
        watchRestart(node);
        restarting = undefined;
      })();
    });
  watchRestart(node);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    node.logger.info('signal received', { signal });
    const deadline = setTimeout(() => {
      node.logger.error('graceful stop exceeded the deadline', { ms: STOP_DEADLINE_MS });
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    void (async () => {
      await restarting;
      await node.stop();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function startOrExit(config: NodeConfig): Promise<ChainmeshNode> {
  try {
    return await ChainmeshNode.start(config);
  } catch (err) {
    exitOnConfigError(err);
    throw err;
  }
}

function exitOnConfigError(err: unknown): void {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}
