import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { ConfigError, UsageError, coerceError } from '@nexus/core';
import { defaultConfigPath, loadWorkerConfig } from '../config/worker-config.ts';
import { formatBytes } from '../format-bytes.ts';
import { JOB_TYPES } from '../jobs/registry.ts';
import { decryptFile } from '../state-backup/age-file.ts';
import { backupTime } from '../state-backup/retention.ts';
import {
  downloadBackup,
  downloadBackupBytes,
  listBackups,
  putBackupBytes,
  stateBackupTarget,
} from '../state-backup/state-backup-api.ts';
import {
  RECOVERY_KEY_PREFIX,
  createStateKey,
  loadStateKey,
  recoveryKeyName,
  unwrapStateKey,
} from '../state-backup/state-key.ts';

export const STATE_KEY_HELP = `Usage: nexus-worker state-key --passphrase-env <VAR> [--config <path>]

Makes this host's key for encrypted OpenClaw state backups (job type state_backup). The key stays
on this machine (<stateDir>/state-key.txt, mode 0600); the API gets only a copy encrypted with the
recovery passphrase (recovery-key-<time>.age), so the backups can be read on a new machine with that
passphrase. Keep the passphrase somewhere safe: without it and this machine, nobody, the Nexus
operator included, can read the backups.

Options:
  --passphrase-env <VAR>  the environment variable holding the recovery passphrase (12+ characters)
  --config <path>         worker config (default $NEXUS_WORKER_CONFIG or ~/.nexus/worker.json)
  -h, --help              show this help
`;

export const RESTORE_STATE_HELP = `Usage: nexus-worker restore-state --out <dir> [--name <backup>] [options]

Downloads one encrypted OpenClaw state backup of this host, decrypts it here, and checks it with
"openclaw backup verify". The archive then restores with OpenClaw's own tools (docs/WORKER.md).

Options:
  --out <dir>             where the archive goes (created; an existing file is never overwritten)
  --name <backup>         which backup (default: the newest); --list shows them
  --list                  list this host's stored state backups and exit
  --passphrase-env <VAR>  the recovery passphrase, when this machine has no state-key.txt
  --host <id>             another host's backups (needs a key that may read them)
  --no-verify             do not run openclaw backup verify
  --config <path>         worker config (default $NEXUS_WORKER_CONFIG or ~/.nexus/worker.json)
  -h, --help              show this help
`;

/** The options both commands take. */
const SHARED_OPTIONS = {
  'passphrase-env': { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function stateKeyCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const { values } = parseArgs({ args: [...argv], options: SHARED_OPTIONS, strict: true });
  if (values.help) return STATE_KEY_HELP;
  const passphrase = passphraseFrom(values['passphrase-env'], env);
  if (passphrase === undefined)
    throw new UsageError(
      '--passphrase-env is missing: nexus-worker state-key --passphrase-env NEXUS_RECOVERY_PASSPHRASE (with that variable set).',
    );
  const config = loadWorkerConfig(values.config ?? defaultConfigPath(env), env, JOB_TYPES);
  const made = await createStateKey(config.stateDir, passphrase);
  const target = stateBackupTarget(config);
  const name = recoveryKeyName(new Date());
  try {
    await putBackupBytes(target, name, made.wrapped);
  } catch (error) {
    await rm(made.path, { force: true });
    throw new ConfigError(
      `${coerceError(error).message}; the key was not kept, run this again once the API takes it.`,
    );
  }
  return [
    `Made this host's state backup key: ${made.path} (recipient ${made.recipient}).`,
    `Stored its copy, encrypted with your recovery passphrase, as ${name} for host ${config.host.id}.`,
    'Keep the passphrase safe: it is what reads the backups if this machine is lost.',
    'Enable the "state_backup" job in the worker config (docs/WORKER.md) to start backing up.',
  ].join('\n');
}

export async function restoreStateCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...SHARED_OPTIONS,
      out: { type: 'string' },
      name: { type: 'string' },
      list: { type: 'boolean' },
      host: { type: 'string' },
      'no-verify': { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return RESTORE_STATE_HELP;
  const config = loadWorkerConfig(values.config ?? defaultConfigPath(env), env, JOB_TYPES);
  const target = stateBackupTarget(config, values.host);
  const archives = (await listBackups(target))
    .filter((b) => backupTime(b.name) !== undefined)
    .sort((a, b) => b.name.localeCompare(a.name));
  if (values.list)
    return archives.length === 0
      ? `Host ${target.hostId} has no state backups yet.`
      : archives.map((b) => `${b.name}  ${formatBytes(b.bytes)}  stored ${b.storedAt}`).join('\n');
  if (values.out === undefined)
    throw new UsageError('--out is missing: nexus-worker restore-state --out <dir> (see --help).');
  const chosen = values.name ?? archives[0]?.name;
  if (chosen === undefined)
    throw new ConfigError(`Host ${target.hostId} has no state backups to restore.`);
  const own = await loadStateKey(config.stateDir);
  const identities = own
    ? [own]
    : await recoveredKeys(target, passphraseFrom(values['passphrase-env'], env));
  await mkdir(values.out, { recursive: true, mode: 0o700 });
  const encrypted = join(values.out, `${chosen}.download`);
  const archive = join(values.out, chosen.replace(/\.age$/, ''));
  if (existsSync(archive))
    throw new ConfigError(`${archive} exists already; choose another --out.`);
  try {
    await downloadBackup(target, chosen, encrypted);
    try {
      await decryptFile(encrypted, archive, identities);
    } catch (error) {
      await rm(archive, { force: true });
      throw new ConfigError(
        `${chosen} could not be decrypted with this key (${coerceError(error).message}); was it made by another host? Use --passphrase-env with that host's recovery passphrase and --host.`,
      );
    }
  } finally {
    await rm(encrypted, { force: true });
  }
  const lines = [`Decrypted ${chosen} into ${archive}.`];
  if (!values['no-verify']) lines.push(await verify(archive, openclawCommandOf(config.jobs)));
  return lines.join('\n');
}

function passphraseFrom(variable: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (variable === undefined) return undefined;
  const value = env[variable];
  if (value === undefined || value === '')
    throw new UsageError(`The environment variable ${variable} (--passphrase-env) is not set.`);
  return value;
}

/** Every key of the host that the passphrase opens (a host may have been given new keys). */
async function recoveredKeys(
  target: { url: string; apiKey: string; hostId: string },
  passphrase: string | undefined,
): Promise<string[]> {
  if (passphrase === undefined)
    throw new UsageError(
      'This machine has no state backup key (state-key.txt); give the recovery passphrase with --passphrase-env <VAR>.',
    );
  const keys: string[] = [];
  for (const stored of await listBackups(target)) {
    if (!stored.name.startsWith(RECOVERY_KEY_PREFIX)) continue;
    const key = await unwrapStateKey(await downloadBackupBytes(target, stored.name), passphrase);
    if (key !== undefined) keys.push(key);
  }
  if (keys.length === 0)
    throw new ConfigError(
      `The recovery passphrase does not open any recovery key of host ${target.hostId}; check it and try again.`,
    );
  return keys;
}

function openclawCommandOf(jobs: readonly { type: string; config: unknown }[]): string {
  const job = jobs.find((j) => j.type === 'state_backup');
  const command = (job?.config as { openclawCommand?: unknown } | undefined)?.openclawCommand;
  return typeof command === 'string' ? command : 'openclaw';
}

/** `openclaw backup verify`: a line saying it passed; a failure is an error, a missing CLI a note. */
async function verify(archive: string, command: string): Promise<string> {
  try {
    await promisify(execFile)(command, ['backup', 'verify', archive], { timeout: 30 * 60_000 });
    return `Verified with ${command} backup verify.`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return `Not verified: ${command} is not installed here; run "openclaw backup verify ${archive}" where it is.`;
    throw new ConfigError(
      `${command} backup verify rejected ${archive}: ${coerceError(error).message}`,
    );
  }
}
