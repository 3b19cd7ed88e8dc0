import { ConfigError, loadConfig, type NodeConfig, ChainmeshNode } from '../daemon/index.js';

/** Exit code for configuration errors: the operator has to change something. */
export const EXIT_CONFIG = 2;
/** Exit code for everything else that stops the node: a failed start, stop or restart, a crash. */
export const EXIT_FAILURE = 1;
const STOP_DEADLINE_MS = 5000;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * `chainmesh node`: one node configured by the environment, as in a container.
 * SIGTERM/SIGINT stop it gracefully (exit 0); POST /restart stops it and
 * starts it again from its data dir in the same process. Every way out of the
 * process leaves one line saying why, with a defined exit code: 2 for a
 * setting the operator has to change, 1 for anything else.
 */
export async function runNode(env: NodeJS.ProcessEnv): Promise<void> {
  /** The node whose logger (and node id) speaks for the process; the old one during a restart. */
  let node: ChainmeshNode | undefined;
  let exiting = false;

  /** Logs why the process ends (with the node id once there is a node) and exits. */
  const exit = (code: number, message: string, err?: unknown): never => {
    if (!exiting) {
      exiting = true;
      if (err instanceof ConfigError) code = EXIT_CONFIG;
      if (err instanceof ConfigError && !node) {
        // One line naming the variable, as for a malformed value.
        process.stderr.write(`${err.message}\n`);
      } else if (node) {
        node.logger.error(message, {
          error: err === undefined ? undefined : messageOf(err),
          stack: err instanceof Error && !(err instanceof ConfigError) ? err.stack : undefined,
          exitCode: code,
        });
      } else {
        process.stderr.write(`chainmesh: ${message}${err === undefined ? '' : `: ${messageOf(err)}`}\n`);
      }
    }
    process.exit(code);
  };

  // A bug that escapes every handler must still leave a line with the node id and a non-zero exit code.
  process.on('uncaughtException', (err) => exit(EXIT_FAILURE, 'uncaught exception', err));
  process.on('unhandledRejection', (reason) => exit(EXIT_FAILURE, 'unhandled promise rejection', reason));

  let config: NodeConfig;
  try {
    config = loadConfig(env, { isTTY: process.stderr.isTTY });
  } catch (err) {
    return exit(EXIT_FAILURE, 'cannot read the configuration', err);
  }

  /** A start or restart in progress; a stop waits for it, then stops what it started. */
  let transition: Promise<void> | undefined;
  let stopping = false;

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (node) node.logger.info('signal received', { signal });
    else process.stderr.write(`chainmesh: ${signal} received while starting\n`);
    const deadline = setTimeout(
      () => exit(EXIT_FAILURE, 'graceful stop exceeded the deadline', new Error(`${STOP_DEADLINE_MS} ms`)),
      STOP_DEADLINE_MS,
    );
    deadline.unref();
    (async () => {
      await transition;
      await node?.stop();
      process.exit(0);
    })().catch((err: unknown) => exit(EXIT_FAILURE, 'graceful stop failed', err));
  };
  // Installed before the start, so a container stopped while the store opens still stops cleanly.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const watchRestart = (current: ChainmeshNode) =>
    current.onRestartRequested(() => {
      if (stopping || transition) return;
      transition = (async () => {
        try {
          await current.stop();
        } catch (err) {
          exit(EXIT_FAILURE, 'restart failed: the node did not stop', err);
        }
        let next: ChainmeshNode;
        try {
          next = await ChainmeshNode.start(config);
        } catch (err) {
          // The old node is gone and a new one could not start: a supervisor can do better than a half-alive process.
          return exit(EXIT_FAILURE, 'restart failed: the node could not start again', err);
        }
        node = next;
        watchRestart(next);
        next.logger.info('restarted');
      })().finally(() => {
        transition = undefined;
      });
    });

  transition = (async () => {
    try {
      node = await ChainmeshNode.start(config);
    } catch (err) {
      return exit(EXIT_FAILURE, 'node failed to start', err);
    }
    watchRestart(node);
  })().finally(() => {
    transition = undefined;
  });
  await transition;
}
