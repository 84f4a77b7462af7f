/**
 * One line, with the fix, for the operating-system errors a user causes and can fix (a busy
 * port, a folder that cannot be written); `undefined` for anything else, which is a fault and
 * keeps its stack. Pure: it only reads the error's `code`, `path`, `port` and `message`.
 */
export function describeSystemError(error: Error): string | undefined {
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
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
