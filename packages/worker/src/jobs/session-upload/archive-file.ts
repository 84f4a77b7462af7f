import { copyFile, constants, link, mkdir, open, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * `move` mode (the seed's behaviour): after the API confirmed an upload, the file leaves the
 * sessions folder for `<archiveDir>/<agentId>/`, under its own name, never overwriting: if a file
 * of that name is already there, a numbered suffix is added. Hard link then unlink, so at every
 * moment the file exists in at least one place; across file systems, a create-only copy instead.
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
    try {
      await link(path, target);
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? error.code : undefined;
      if (code === 'EEXIST') continue;
      if (code !== 'EXDEV' && code !== 'EPERM') throw error;
      try {
        await copyFile(path, target, constants.COPYFILE_EXCL);
      } catch (copyError) {
        if (copyError instanceof Error && 'code' in copyError && copyError.code === 'EEXIST')
          continue;
        throw copyError;
      }
      const copy = await open(target, 'r');
      await copy.sync();
      await copy.close();
    }
    await unlink(path);
    return target;
  }
  throw new Error(`could not find a free name for ${name} in ${folder}`);
}
