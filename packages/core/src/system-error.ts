import { ConfigError, UsageError, coerceError, errorCode } from './errors.ts';

/**
 * One line, with the fix, for the operating-system errors a user causes and can fix (a busy
 * port, a folder that cannot be written); `undefined` for anything else, which is a fault and
 * keeps its stack. Pure: it only reads the error's `code`, `path`, `port` and `message`.
 */
export function describeSystemError(error: Error): string | undefined {
  const code = errorCode(error);
  const path = 'path' in error && typeof error.path === 'string' ? error.path : undefined;
  const port = 'port' in error && typeof error.port === 'number' ? error.port : undefined;
  switch (code) {
    case 'EADDRINUSE':
      return `Port ${port ?? '(that port)'} is already in use; stop what uses it or choose another (--port, or NEXUS_PORT).`;
    case 'EADDRNOTAVAIL':
      return "That address is not one of this machine's; use 127.0.0.1, 0.0.0.0 or an address of this machine (--host, or NEXUS_HOST).";
    case 'EACCES':
    case 'EPERM':
      return `No permission for ${path ?? (port === undefined ? 'a file it needs' : `port ${port}`)}: choose a folder you own (--data-dir / --config) or a port above 1023.`;
    case 'ENOTDIR':
    case 'EEXIST':
    case 'EROFS':
    case 'ENOSPC':
    case 'EISDIR':
      return `Cannot use ${path ?? 'the data folder'} (${code}): choose another folder (--data-dir, NEXUS_DATA_DIR, or stateDir in the worker config).`;
    default:
      return undefined;
  }
}

/**
 * How a command-line program reports a failure, in one place for every CLI: what the user can fix
 * (a bad option, a bad config, a busy port) in one line with exit code 2; anything else is a
 * fault, shown with its stack, exit code 1.
 */
export function describeCliFailure(caught: unknown): {
  readonly message: string;
  readonly exitCode: 1 | 2;
} {
  const error = coerceError(caught);
  if (
    error instanceof ConfigError ||
    error instanceof UsageError ||
    errorCode(error)?.startsWith('ERR_PARSE_ARGS')
  ) {
    return { message: error.message, exitCode: 2 };
  }
  const system = describeSystemError(error);
  if (system !== undefined) return { message: system, exitCode: 2 };
  return { message: error.stack ?? error.message, exitCode: 1 };
}
