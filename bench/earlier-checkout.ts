/**
 * An earlier commit of this repository, checked out beside the bench's data so a benchmark can
 * run its API and worker as the baseline in the same run ("today's rate" of an issue, measured
 * again on this machine, now). The checkout uses this repository's installed packages, except
 * its own `@nexus/*` workspaces: a commit whose dependencies differ from today's may not run.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));

export interface EarlierCheckout {
  /** The abbreviated commit id, for the table. */
  readonly commit: string;
  readonly apiCli: string;
  readonly workerCli: string;
  remove(): Promise<void>;
}

export async function checkOutEarlier(revision: string, dir: string): Promise<EarlierCheckout> {
  const root = join(dir, 'earlier-checkout');
  let commit: string;
  try {
    commit = (
      await run('git', ['-C', REPO, 'rev-parse', '--short', `${revision}^{commit}`])
    ).stdout.trim();
    await run('git', ['-C', REPO, 'worktree', 'add', '--detach', '--force', root, commit]);
  } catch (caught) {
    throw new Error(
      `cannot check out ${JSON.stringify(revision)} to compare with (a commit of this repository, e.g. 3e3f049): ${(caught as Error).message}`,
      { cause: caught },
    );
  }
  const modules = join(root, 'node_modules');
  await mkdir(join(modules, '@nexus'), { recursive: true });
  for (const name of await readdir(join(REPO, 'node_modules'))) {
    if (name !== '@nexus') await symlink(join(REPO, 'node_modules', name), join(modules, name));
  }
  for (const name of await readdir(join(root, 'packages')))
    await symlink(join(root, 'packages', name), join(modules, '@nexus', name));
  return {
    commit,
    apiCli: join(root, 'packages/api/src/cli/main.ts'),
    workerCli: join(root, 'packages/worker/src/cli/main.ts'),
    async remove() {
      await run('git', ['-C', REPO, 'worktree', 'remove', '--force', root]).catch(() => undefined);
    },
  };
}
