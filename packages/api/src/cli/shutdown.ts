import type { Logger } from 'pino';

const FORCED_EXIT_MS = 15_000;

/**
 * Resolves on the first SIGINT or SIGTERM, so the caller can close cleanly. A second signal, or
 * a shutdown that hangs past the grace period, exits at once: the user asked twice.
 */
export function onShutdown(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handle = (signal: NodeJS.Signals) => {
      logger.info(`${signal} received, shutting down`);
      setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, FORCED_EXIT_MS).unref();
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.once('SIGINT', handle);
    process.once('SIGTERM', handle);
  });
}
