import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

/** `~` is the home folder; a relative path is relative to `base` (the config file's folder). */
export function expandPath(path: string, base: string): string {
  const home = path.replace(/^~(?=\/|$)/, homedir());
  return isAbsolute(home) ? home : resolve(base, home);
}
