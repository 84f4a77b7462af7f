import { ConfigError, UsageError, coerceError, errorCode } from './errors.ts';

/**
 * Where a program's user sets what an operating-system error is about: each CLI names its own
 * options, so the domain holds the explanations and no command line.
 */
export interface CliHints {
  /** How to choose another port, e.g. "--port, or NEXUS_PORT". */
  readonly port: string;
  /** How to choose another address. */
  readonly host: string;
  /** How to choose another folder, e.g. "--data-dir, or NEXUS_DATA_DIR". */
  readonly folder: string;
}

/**
 * One line, with the fix, for the operating-system errors a user causes and can fix (a busy
 * port, a folder that cannot be written); `undefined` for anything else, which is a fault and
 * keeps its stack. Pure: it only reads the error's `code`, `path`, `port` and `message`.
 */
export function describeSystemError(error: Error, hints: CliHints): string | undefined {
  const code = errorCode(error);
  const path = 'path' in error && typeof error.path === 'string' ? error.path : undefined;
  const port = 'port' in error && typeof error.port === 'number' ? error.port : undefined;
  switch (code) {
    case 'EADDRINUSE':
      return `Port ${port ?? '(that port)'} is already in use; stop what uses it or choose another (${hints.port}).`;
    case 'EADDRNOTAVAIL':
      return `That address is not one of this machine's; use 127.0.0.1, 0.0.0.0 or an address of this machine (${hints.host}).`;
    case 'EACCES':
    case 'EPERM':
      return port === undefined
        ? `No permission for ${path ?? 'a file it needs'}: choose a folder you own (${hints.folder}).`
        : `No permission for port ${String(port)}: choose a port above 1023 (${hints.port}).`;
    case 'ENOTDIR':
    case 'EEXIST':
    case 'EROFS':
    case 'ENOSPC':
    case 'EISDIR':
      return `Cannot use ${path ?? 'that folder'} (${code}): choose another folder (${hints.folder}).`;
    default:
      return undefined;
  }
}

/**
 * How a command-line program reports a failure, in one place for every CLI: what the user can fix
 * (a bad option, a bad config, a busy port) in one line with exit code 2; anything else is a
 * fault, shown with its stack, exit code 1.
 */
export function describeCliFailure(
  caught: unknown,
  hints: CliHints,
): {
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
  const system = describeSystemError(error, hints);
  if (system !== undefined) return { message: system, exitCode: 2 };
  return { message: error.stack ?? error.message, exitCode: 1 };
}
