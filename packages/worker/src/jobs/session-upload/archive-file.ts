import { createReadStream } from 'node:fs';
import { copyFile, constants, link, mkdir, open, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorCode } from '@nexus/core';

/**
 * `move` mode: after the API confirmed an upload, the file leaves the
 * sessions folder for `<archiveDir>/<agentId>/`, under its own name, never overwriting: if a
 * different file of that name is already there, a numbered suffix is added. Hard link then
 * unlink, so at every moment the file exists in at least one place; across file systems, a
 * create-only copy instead.
 *
 * A crash between placing the file and removing the original leaves it in both places; the next
 * run finds the same file (same inode, or the same bytes after a copy) under the target name and
 * only removes the original, instead of archiving a second copy.
 */
export async function archiveFile(
  path: string,
  archiveDir: string,
  agentId: string,
): Promise<string> {
  const folder = join(archiveDir, agentId);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const name = basename(path);
  for (let n = 0; n < 1000; n += 1) {
    const target = join(folder, n === 0 ? name : `${name}.${n}`);
    if (await placed(path, target)) {
      await unlink(path);
      return target;
    }
  }
  throw new Error(`could not find a free name for ${name} in ${folder}`);
}

/**
 * Puts `path` at `target`; `false` when `target` is taken by a different file. `true` also when
 * it already holds this very file, left there by an interrupted earlier move.
 */
async function placed(path: string, target: string): Promise<boolean> {
  try {
    await link(path, target);
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return sameFile(path, target);
    if (code !== 'EXDEV' && code !== 'EPERM') throw error;
  }
  try {
    await copyFile(path, target, constants.COPYFILE_EXCL);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return sameFile(path, target);
    throw error;
  }
  const copy = await open(target, 'r');
  await copy.sync();
  await copy.close();
  return true;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  if (sa.size !== sb.size) return false;
  const left = createReadStream(a)[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const right = createReadStream(b)[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pendingLeft: Buffer = Buffer.alloc(0);
  let pendingRight: Buffer = Buffer.alloc(0);
  for (;;) {
    if (pendingLeft.length === 0) {
      const next = await left.next();
      pendingLeft = next.done ? Buffer.alloc(0) : next.value;
    }
    if (pendingRight.length === 0) {
      const next = await right.next();
      pendingRight = next.done ? Buffer.alloc(0) : next.value;
    }
    if (pendingLeft.length === 0 || pendingRight.length === 0)
      return pendingLeft.length === pendingRight.length;
    const length = Math.min(pendingLeft.length, pendingRight.length);
    if (!pendingLeft.subarray(0, length).equals(pendingRight.subarray(0, length))) return false;
    pendingLeft = pendingLeft.subarray(length);
    pendingRight = pendingRight.subarray(length);
  }
}
