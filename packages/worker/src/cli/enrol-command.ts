import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError, UsageError, normaliseHostId, validateHostId } from '@nexus/core';
import { commandApi } from '../api-client/command-api.ts';
import { initCommand, writePrivateJson } from './init-command.ts';

export const ENROL_HELP = `Usage: nexus-worker enrol --url <api> --code <code> [options]
       nexus-worker enrol --url <api> --admin-key-env <VAR> [--host <id>] [options]

Makes this machine a host of a Nexus API: trades a one-time enrolment code (from
"nexus keys enrol --host <id>" on the API's side) for a worker key of that host, or, with an admin
key, creates one, and writes the key, the URL and the host id into the worker config (readable
only by you). An existing config keeps its jobs; a new one is written as "init" would.

Options:
  --url <url>            the Nexus API
  --code <code>          the one-time enrolment code (nxe_...); it names the host
  --admin-key-env <VAR>  instead of a code: the environment variable holding an admin key
  --host <id>            with an admin key: this machine's host id (default: its hostname)
  --name <text>          a display name for the host (default: the hostname)
  --config <path>        the worker config (default $NEXUS_WORKER_CONFIG or ~/.nexus/worker.json)
  --openclaw-dir <path>  for a new config: OpenClaw's state folder (default ~/.openclaw)
  -h, --help             show this help
`;

export interface EnrolOptions {
  readonly url: string;
  readonly code?: string;
  readonly adminKey?: string;
  readonly hostId?: string;
  readonly hostName?: string;
  readonly configPath: string;
  readonly openclawDir?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly workerVersion: string;
}

interface IssuedKey {
  readonly key: string;
  readonly keyId: string;
  readonly hostId: string;
}

/** Returns the lines to show the user. */
export async function enrolCommand(options: EnrolOptions): Promise<string[]> {
  const url = options.url.replace(/\/+$/, '');
  const issued = await issueKey(url, options);
  const name = options.hostName ?? hostname();
  const lines: string[] = [];
  if (existsSync(options.configPath)) {
    const config = readConfig(options.configPath);
    const nexus = { ...(config['nexus'] as Record<string, unknown> | undefined) };
    delete nexus['apiKeyFile'];
    await writePrivateJson(options.configPath, {
      ...config,
      host: { id: issued.hostId, name },
      nexus: { ...nexus, url, apiKey: issued.key },
    });
    lines.push(`Updated ${options.configPath}: host ${issued.hostId}, API ${url}, its worker key.`);
  } else {
    lines.push(
      ...(await initCommand({
        configPath: options.configPath,
        force: false,
        env: options.env,
        nexusUrl: url,
        hostId: issued.hostId,
        hostName: name,
        apiKey: issued.key,
        ...(options.openclawDir === undefined ? {} : { openclawDir: options.openclawDir }),
      })),
    );
  }
  // Proves the key works, and shows the host in GET /v1/hosts before its first upload.
  await commandApi({ url, apiKey: issued.key }, 'PUT', `/v1/hosts/${issued.hostId}`, {
    name,
    workerVersion: options.workerVersion,
  });
  lines.push(
    `Enrolled as host ${issued.hostId} (key ${issued.keyId}); start the worker: nexus-worker`,
  );
  return lines;
}

async function issueKey(url: string, options: EnrolOptions): Promise<IssuedKey> {
  if ((options.code === undefined) === (options.adminKey === undefined))
    throw new UsageError('Give either --code <code> or --admin-key-env <VAR> (see --help).');
  if (options.code !== undefined) {
    const issued = (await commandApi({ url, apiKey: '' }, 'POST', '/v1/enrol', {
      code: options.code.trim(),
    })) as IssuedKey;
    if (options.hostId !== undefined && options.hostId !== issued.hostId)
      throw new UsageError(
        `The code was made for host ${issued.hostId}, not ${options.hostId}; leave out --host, or ask for a code for ${options.hostId}. (The key made from it is unused; revoke ${issued.keyId} with "nexus keys revoke".)`,
      );
    return issued;
  }
  const hostId = validateHostId(options.hostId ?? normaliseHostId(hostname()));
  return (await commandApi({ url, apiKey: options.adminKey ?? '' }, 'POST', '/v1/keys', {
    role: 'worker',
    hostId,
    label: `enrolled on ${hostname()}`,
  })) as IssuedKey;
}

function readConfig(path: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ConfigError(
    `${path} is not a worker config (JSON object); fix or move it, then enrol again.`,
  );
}
