/**
 * The baseline B1a and B1w compare uploads with: `rclone copy` (its defaults, 4 transfers) of an
 * OpenClaw sessions folder to a container of an Azurite, with no rclone config file (the remote is
 * all in the environment).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Whether `rclone` is on the PATH (Debian: `apt-get install rclone`). */
export function rcloneInstalled(): boolean {
  try {
    execFileSync('rclone', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** One setting of an Azure storage connection string (`AccountName`, `BlobEndpoint`, ...). */
export function connectionSetting(connectionString: string, name: string): string {
  return new RegExp(`${name}=([^;]+)`).exec(connectionString)?.[1] ?? '';
}

/**
 * The arguments and environment of `rclone copy` from `stateDir`'s sessions folder (its
 * transcripts, as the worker sends: not OpenClaw's `sessions.json`) to `container`, through
 * `blobEndpoint` (Azurite's own, or a relay in front of it).
 */
export function rcloneCopy(
  stateDir: string,
  container: string,
  connectionString: string,
  blobEndpoint = connectionSetting(connectionString, 'BlobEndpoint'),
): { args: string[]; env: Record<string, string> } {
  return {
    args: [
      'copy',
      join(stateDir, 'agents', 'main', 'sessions'),
      `az:${container}`,
      '--include',
      '*.jsonl*',
      '--transfers',
      '4',
      '--azureblob-account',
      connectionSetting(connectionString, 'AccountName'),
      '--azureblob-key',
      connectionSetting(connectionString, 'AccountKey'),
      '--azureblob-endpoint',
      blobEndpoint,
      // Azurite's plain-HTTP, path-style addressing.
      '--azureblob-use-emulator',
    ],
    // No config file (rclone would say so on every run).
    env: { RCLONE_CONFIG: '/dev/null', RCLONE_CONFIG_AZ_TYPE: 'azureblob' },
  };
}
