import { parseArgs } from 'node:util';
import { UsageError } from '@nexus/core';
import { loadApiConfig, type ConfigOverrides } from '../config/api-config.ts';
import { createLogger } from '../logger.ts';
import { startServer } from '../node/start-server.ts';
import { onShutdown } from './shutdown.ts';

export const SERVE_HELP = `Usage: nexus serve [options]

Runs the Nexus API as a plain Node server, with the dashboard at its root URL (log in with an
admin key or a reader key). Storage is embedded (a data folder, nothing to install) unless Azure
Storage is configured through the environment.

Options:
  --host <address>     address to listen on (env NEXUS_HOST, default 127.0.0.1)
  --port <number>      port to listen on; 0 picks a free one (env NEXUS_PORT, default 7420)
  --data-dir <path>    data folder (env NEXUS_DATA_DIR, default ~/.nexus)
  -h, --help           show this help

Environment: NEXUS_API_KEYS, NEXUS_STORAGE, AZURE_STORAGE_CONNECTION_STRING,
NEXUS_MAX_TRANSCRIPT_BYTES, NEXUS_LOG_LEVEL and more: see README.md, "Configuration".
`;

export async function serveCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const overrides: ConfigOverrides = {
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values.port === undefined ? {} : { port: parsePort(values.port) }),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
  };
  const config = loadApiConfig(env, overrides);
  const logger = createLogger({ level: config.logLevel, name: 'nexus-api' });
  // Listening for SIGINT/SIGTERM before the server starts: a signal that arrives while it starts
  // (or right after its "listening" line) still stops it cleanly, not by the default kill.
  const stopRequested = onShutdown(logger);
  const server = await startServer(config, logger);
  const where =
    config.storage.kind === 'embedded'
      ? `embedded storage in ${config.storage.dataDir}`
      : 'Azure Storage';
  logger.info(`Nexus API listening on ${server.url} (${where})`);
  if (server.apiKeyFile) logger.info(`API key: ${server.apiKeyFile}`);
  logger.info(
    `Dashboard: ${server.url}/ (log in with ${server.apiKeyFile ? `the key in ${server.apiKeyFile}` : 'a key of NEXUS_API_KEYS'} or a reader key)`,
  );
  await stopRequested;
  await server.close();
  logger.info('Nexus API stopped');
  return 0;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(
      `--port must be a whole number from 0 to 65535; got ${JSON.stringify(value)}.`,
    );
  }
  return port;
}
