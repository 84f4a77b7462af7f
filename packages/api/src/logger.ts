import pino, { type Logger } from 'pino';

/**
 * JSON logs for machines (journald, Azure), readable lines in a terminal. Transcript content and
 * secrets are never passed to the logger: requests log method, path, status and duration only.
 */
export function createLogger(options: { level: string; name: string; pretty?: boolean }): Logger {
  const format = process.env['NEXUS_LOG_FORMAT'];
  const pretty =
    options.pretty ?? (format === undefined ? process.stdout.isTTY : format === 'pretty');
  return pino(
    {
      name: options.name,
      level: options.level,
      redact: { paths: ['req.headers.authorization', '*.apiKey', 'apiKey'], censor: '[redacted]' },
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
