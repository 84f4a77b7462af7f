import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates `dir` (and its missing parents) readable by the owner only, whatever the umask: the
 * data folder holds transcripts, webhook bodies and the API key. A folder that existed keeps the
 * mode its owner gave it.
 */
export function makePrivateDir(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  for (let current = dir; ; current = dirname(current)) {
    chmodSync(current, 0o700);
    if (current === first || dirname(current) === current) break;
  }
}

/**
 * Makes sure `file` exists with mode 0600 before SQLite opens it: SQLite creates a database (and
 * gives its `-wal` and `-shm` the same mode) as 0644 less the umask, readable by every user.
 */
export function makePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
}
