import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { normaliseHostId, validateHostId, UsageError } from '@nexus/core';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { nexusHome } from '../config/worker-config.ts';
import { discoverAgents, readOpenClawConfig, resolveStateDir } from '../openclaw/state-dir.ts';

/** What init writes for session_upload: continuous backup (docs/WORKER.md). */
const UPLOAD_EVERY_MINUTES = 5;
const QUIET_MINUTES = 5;
export const INIT_HELP = `Usage: nexus-worker init [options]

Writes a starter config for this machine: the OpenClaw state folder and agents it finds, the
Nexus API URL, a session_upload job (continuous backup: every 5 minutes, live sessions once
quiet, only what was added), a webhook_delivery job (enabled when openclaw.json has hooks
enabled with a token), and, where OpenClaw is, a state_backup job, off until this host has a key
(nexus-worker state-key). Reads OpenClaw's files, never writes them.

Options:
  --config <path>        where to write (default $NEXUS_WORKER_CONFIG or ~/.nexus/worker.json)
  --openclaw-dir <path>  OpenClaw state folder (default $OPENCLAW_STATE_DIR or ~/.openclaw)
  --nexus-url <url>      Nexus API base URL (default http://127.0.0.1:7420)
  --host <id>            this machine's host id in Nexus (default: its hostname, as a host id:
                         lowercase letters, digits and '-'); keep it when the machine changes
  --name <text>          a display name for the host (default: the hostname)
  --force                overwrite an existing config
  -h, --help             show this help
`;

export interface InitOptions {
  readonly configPath: string;
  readonly openclawDir?: string;
  readonly nexusUrl?: string;
  readonly hostId?: string;
  readonly hostName?: string;
  /** A key for the config itself (enrolment); otherwise the key file of a local API. */
  readonly apiKey?: string;
  readonly force: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Returns the lines to show the user; throws when a config exists and `force` is not set. */
export async function initCommand(options: InitOptions): Promise<string[]> {
  if (existsSync(options.configPath) && !options.force) {
    throw new UsageError(
      `${options.configPath} already exists; edit it, or run init again with --force to replace it.`,
    );
  }
  const stateDir = options.openclawDir ?? resolveStateDir(options.env);
  const agents = existsSync(stateDir) ? await discoverAgents(stateDir, options.env) : [];
  const keyFile = join(nexusHome(), 'api-key');
  const hooks = (
    (await readOpenClawConfig(stateDir, options.env)) as
      { hooks?: { enabled?: unknown; token?: unknown } } | undefined
  )?.hooks;
  const hooksReady = hooks?.enabled === true && typeof hooks.token === 'string';
  const host = {
    id: validateHostId(options.hostId ?? normaliseHostId(hostname())),
    name: options.hostName ?? hostname(),
  };
  const url = options.nexusUrl ?? 'http://127.0.0.1:7420';
  const config = {
    host,
    nexus:
      options.apiKey === undefined
        ? { url, apiKeyFile: '~/.nexus/api-key' }
        : { url, apiKey: options.apiKey },
    openclaw: { stateDir },
    jobs: [
      {
        id: 'session-upload',
        type: 'session_upload',
        enabled: true,
        // Continuous backup: live sessions every few minutes, once quiet (only new bytes).
        intervalMinutes: UPLOAD_EVERY_MINUTES,
        config: {
          mode: 'keep',
          quietMinutes: QUIET_MINUTES,
          concurrency: 4,
          snapshots: true,
          compression: 'auto',
        },
      },
      {
        id: 'webhooks',
        type: 'webhook_delivery',
        // Only once OpenClaw accepts hooks; until then the job would fail every minute.
        enabled: hooksReady,
        intervalMinutes: 1,
        config: { pollSeconds: 2, batchSize: 20, leaseSeconds: 60 },
      },
      // Offered where OpenClaw is: off until this host has a key (nexus-worker state-key).
      ...(existsSync(stateDir)
        ? [
            {
              id: 'state-backup',
              type: 'state_backup',
              enabled: false,
              intervalMinutes: 1440,
              config: { keepDaily: 7, keepWeekly: 4, keepMonthly: 6 },
            },
          ]
        : []),
    ],
  };
  await writePrivateJson(options.configPath, config);
  const lines = [`Wrote ${options.configPath}`, `  Host: ${host.id} ("${host.name}")`];
  if (!existsSync(stateDir)) {
    lines.push(
      `  OpenClaw: no state folder at ${stateDir} yet; the worker will find nothing until OpenClaw runs (or pass --openclaw-dir).`,
    );
  } else {
    lines.push(
      `  OpenClaw: ${stateDir}, agents: ${agents.map((a) => a.agentId).join(', ') || 'none yet'}`,
      '  State backups (OpenClaw\'s whole state, encrypted here): off. To turn them on, run "nexus-worker state-key --passphrase-env <VAR>", then set "enabled": true on the state-backup job.',
    );
  }
  lines.push(
    options.apiKey === undefined
      ? `  Nexus API: ${url}, key from ${keyFile}${existsSync(keyFile) ? '' : ' (not there yet: start the API once with "npm start", or set NEXUS_API_KEY)'}`
      : `  Nexus API: ${url}, with the worker key of host ${host.id} (in the config, readable only by you)`,
  );
  lines.push(
    `  Job: session-upload every ${String(UPLOAD_EVERY_MINUTES)} min: live sessions once quiet for ${String(QUIET_MINUTES)} min (after the first upload, only what was added), completed ones and archives; mode "keep" (files stay where OpenClaw reads them).`,
  );
  lines.push(
    hooksReady
      ? '  Job: webhooks (webhook_delivery), delivering to the OpenClaw gateway with the hooks token from openclaw.json.'
      : '  Job: webhooks (webhook_delivery) is disabled: OpenClaw does not accept hooks yet. Set hooks.enabled: true and hooks.token in openclaw.json, then "enabled": true for this job (docs/WEBHOOKS.md).',
  );
  lines.push('Try it: nexus-worker --job session-upload --dry-run');
  return lines;
}

/** Writes a config readable only by its owner (it may hold a key), in a folder only they can list. */
export async function writePrivateJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  // An existing file keeps its mode through writeFile: make it private too.
  await chmod(path, 0o600);
}
