import pino, { type Logger } from 'pino';

/** JSON lines for journald and files; readable lines in a terminal. Never transcript content. */
export function createLogger(options: { verbose: boolean; pretty?: boolean }): Logger {
  const format = process.env['NEXUS_LOG_FORMAT'];
  const pretty =
    options.pretty ?? (format === undefined ? process.stdout.isTTY : format === 'pretty');
  return pino(
    {
      name: 'nexus-worker',
      level: options.verbose ? 'debug' : (process.env['NEXUS_LOG_LEVEL'] ?? 'info'),
      ...(pretty
        ? {
            transport: {
              target: 'pino-pretty',
              options: { colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' },
            },
          }
        : {}),
    },
    // JSON lines are written off the main thread's path (a line per delivered webhook or request
    // blocked it for about a tenth of its time, bench B5); what is buffered is flushed on exit.
    pretty ? undefined : pino.destination({ dest: 1, sync: false }),
  );
}
