import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from '@nexus/core';

export const API_KEY_FILE = 'api-key';

/**
 * With no key configured, the Node server makes one on first start and keeps it in the data
 * folder, readable by its owner only, so a fresh install is protected without any setup and the
 * worker on the same machine can read it. `created` tells the caller to announce it once.
 */
export async function loadOrCreateApiKey(
  dataDir: string,
): Promise<{ key: string; path: string; created: boolean }> {
  const path = join(dataDir, API_KEY_FILE);
  try {
    const key = (await readFile(path, 'utf8')).trim();
    if (key !== '') return { key, path, created: false };
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
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
