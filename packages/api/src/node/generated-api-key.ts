import { randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from '@nexus/core';
import { makePrivateDir } from '../storage/embedded/private-files.ts';

export const API_KEY_FILE = 'api-key';

/**
 * With no key configured, the Node server makes one on first start and keeps it in the data
 * folder, readable by its owner only, so a fresh install is protected without any setup and the
 * worker on the same machine can read it. `created` tells the caller to announce it once.
 */
export async function loadOrCreateApiKey(
  dataDir: string,
): Promise<{ key: string; path: string; created: boolean; madePrivate?: boolean }> {
  const path = join(dataDir, API_KEY_FILE);
  try {
    const key = (await readFile(path, 'utf8')).trim();
    if (key !== '') {
      // A key others can read is no secret: make it the owner's only, and say so.
      const { mode } = await stat(path);
      if ((mode & 0o077) === 0) return { key, path, created: false };
      await chmod(path, 0o600);
      return { key, path, created: false, madePrivate: true };
    }
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  makePrivateDir(dataDir);
  const key = `nxk_${randomBytes(32).toString('base64url')}`;
  try {
    await writeFile(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process made it first: use theirs.
    if (errorCode(error) === 'EEXIST') return loadOrCreateApiKey(dataDir);
    throw error;
  }
  await chmod(path, 0o600);
  return { key, path, created: true };
}
