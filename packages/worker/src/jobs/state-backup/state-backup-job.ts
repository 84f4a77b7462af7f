import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { coerceError } from '@nexus/core';
import { formatBytes } from '../../format-bytes.ts';
import { encryptFile } from '../../state-backup/age-file.ts';
import {
  backupName,
  backupTime,
  backupsToRemove,
  type DatedBackup,
} from '../../state-backup/retention.ts';
import {
  listBackups,
  putBackup,
  removeBackup,
  stateBackupTarget,
} from '../../state-backup/state-backup-api.ts';
import { identityToRecipient, loadStateKey, stateKeyPath } from '../../state-backup/state-key.ts';
import {
  ConfiguredJob,
  finishedRun,
  type JobContext,
  type JobResult,
  type JobType,
} from '../job.ts';
import { stateBackupConfigSchema, type StateBackupConfig } from './state-backup-config.ts';

const run = promisify(execFile);

export const stateBackupJobType: JobType<typeof stateBackupConfigSchema> = {
  description:
    "archives OpenClaw's whole state (openclaw backup create --verify), encrypts it on this host, uploads it, keeps daily, weekly and monthly copies",
  configSchema: stateBackupConfigSchema,
  create: (id, config, services) => new StateBackupJob(id, config, services),
};

/**
 * `state_backup`: OpenClaw's own archive of its state (config, credentials, sessions,
 * workspaces), encrypted with age to this host's key before it leaves the machine, stored by the
 * API as ciphertext, then the stored ones thinned to the retention policy. Without a key the run
 * fails and says how to make one: a backup that cannot be made is never a quiet success.
 */
export class StateBackupJob extends ConfiguredJob<StateBackupConfig> {
  async run(context: JobContext): Promise<JobResult> {
    const started = performance.now();
    const { logger } = context;
    const counts = { uploaded: 0, bytes: 0, removed: 0, failed: 0 };
    const errors: { item: string; message: string }[] = [];
    const fail = (item: string, message: string): JobResult => {
      counts.failed += 1;
      errors.push({ item, message });
      logger.error(message);
      return finishedRun(started, { success: false, message, counts, errors });
    };
    const { config: worker } = this.services;
    const identity = await loadStateKey(worker.stateDir);
    if (identity === undefined)
      return fail(
        stateKeyPath(worker.stateDir),
        `no state backup key at ${stateKeyPath(worker.stateDir)}; make one with "nexus-worker state-key" (it asks for a recovery passphrase)`,
      );
    if (context.dryRun)
      return finishedRun(started, {
        success: true,
        message: `dry run: would run ${this.config.openclawCommand} backup create and upload the encrypted archive`,
        counts,
        errors,
      });
    const target = stateBackupTarget(worker);
    const tmpRoot = join(worker.stateDir, 'tmp');
    await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
    const work = await mkdtemp(join(tmpRoot, 'state-'));
    try {
      let archive: string;
      try {
        archive = await this.createArchive(work, context.signal);
      } catch (error) {
        return fail(
          this.config.openclawCommand,
          `openclaw backup create failed: ${coerceError(error).message}`,
        );
      }
      const name = backupName(new Date(this.services.clock.now()));
      const encrypted = join(work, name);
      await encryptFile(archive, encrypted, await identityToRecipient(identity));
      // The plaintext archive holds credentials: gone before anything is sent.
      await rm(archive, { force: true });
      const { size } = await stat(encrypted);
      try {
        await putBackup(target, name, encrypted, context.signal);
      } catch (error) {
        return fail(name, coerceError(error).message);
      }
      counts.uploaded = 1;
      counts.bytes = size;
      logger.info({ name, bytes: size }, 'state backup stored (encrypted)');
      const stored: DatedBackup[] = [];
      for (const backup of await listBackups(target)) {
        const takenAt = backupTime(backup.name);
        if (takenAt !== undefined) stored.push({ name: backup.name, takenAt });
      }
      const policy = {
        daily: this.config.keepDaily,
        weekly: this.config.keepWeekly,
        monthly: this.config.keepMonthly,
      };
      for (const old of backupsToRemove(stored, policy)) {
        await removeBackup(target, old);
        counts.removed += 1;
      }
      return finishedRun(started, {
        success: true,
        message: `stored ${name} (${formatBytes(size)}, encrypted); ${String(counts.removed)} older backups removed by retention`,
        counts,
        errors,
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Runs `openclaw backup create --verify` into `dir` and returns the archive it wrote. */
  private async createArchive(dir: string, signal: AbortSignal): Promise<string> {
    const out = join(dir, 'archive');
    await mkdir(out, { mode: 0o700 });
    const args = ['backup', 'create', '--output', out, '--verify'];
    if (!this.config.includeWorkspace) args.push('--no-include-workspace');
    await run(this.config.openclawCommand, args, {
      env: { ...process.env, OPENCLAW_STATE_DIR: this.services.config.openclaw.stateDir },
      timeout: this.config.timeoutMinutes * 60_000,
      signal,
      maxBuffer: 4 * 1024 * 1024,
    });
    const archives = (await readdir(out)).filter((f) => f.endsWith('.tar.gz'));
    const [archive] = archives;
    if (archive === undefined || archives.length > 1)
      throw new Error(
        `expected one .tar.gz in ${out}, found ${archives.length === 0 ? 'none' : archives.join(', ')}`,
      );
    return join(out, archive);
  }
}
