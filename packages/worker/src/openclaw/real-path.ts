import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * `path` with every symlink resolved, so a path from OpenClaw's files (`sessionFile`) and a path
 * the worker built (its state folder, maybe reached through a link) compare equal when they name
 * the same file. A path that does not exist keeps its missing tail on its nearest existing
 * parent's real path.
 */
export function realPathOf(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync.native(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(realPathOf(parent), basename(absolute));
  }
}
