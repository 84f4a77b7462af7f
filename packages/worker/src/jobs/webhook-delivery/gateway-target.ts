import { readFile } from 'node:fs/promises';
import { ConfigError, errorCode } from '@nexus/core';
import { readOpenClawConfig } from '../../openclaw/state-dir.ts';
import { expandPath } from '../../expand-path.ts';

/** Where and how to reach the OpenClaw gateway's incoming hooks. */
export interface GatewayTarget {
  /** Base URL plus hooks path, without a trailing slash, e.g. `http://127.0.0.1:18789/hooks`. */
  readonly hooksUrl: string;
  readonly token: string;
  /** The gateway refuses larger bodies with 413 (`hooks.maxBodyBytes`, default 256 KiB). */
  readonly maxBodyBytes: number;
  /** Where the settings came from, for the log. */
  readonly source: string;
}

export interface GatewaySettings {
  readonly url?: string | undefined;
  readonly hooksPath?: string | undefined;
  readonly token?: string | undefined;
  readonly tokenFile?: string | undefined;
  readonly maxBodyBytes?: number | undefined;
}

interface OpenClawHooks {
  hooks?: { enabled?: unknown; token?: unknown; path?: unknown; maxBodyBytes?: unknown };
  gateway?: { port?: unknown };
}

export const DEFAULT_GATEWAY_PORT = 18789;
export const DEFAULT_HOOKS_PATH = '/hooks';
export const DEFAULT_HOOKS_MAX_BODY_BYTES = 256 * 1024;

/**
 * The job's `gateway` settings win; what they leave out comes from openclaw.json (read only:
 * `gateway.port`, `hooks.enabled`, `hooks.token`, `hooks.path`, `hooks.maxBodyBytes`). Errors say
 * which setting is missing and where to put it.
 */
export async function resolveGateway(
  settings: GatewaySettings,
  stateDir: string,
  env: Readonly<Record<string, string | undefined>>,
  configDir: string,
): Promise<GatewayTarget> {
  const openclaw = ((await readOpenClawConfig(stateDir, env)) ?? {}) as OpenClawHooks;
  const hooks = openclaw.hooks ?? {};
  const configPath = env['OPENCLAW_CONFIG_PATH'] ?? `${stateDir}/openclaw.json`;
  let token = settings.token;
  if (token === undefined && settings.tokenFile !== undefined) {
    const path = expandPath(settings.tokenFile, configDir);
    try {
      token = (await readFile(path, 'utf8')).trim();
    } catch (error) {
      throw new ConfigError(
        `Cannot read the gateway token file ${path} (${errorCode(error) ?? 'error'}); fix gateway.tokenFile in the webhook_delivery job.`,
      );
    }
  }
  if (token === undefined && typeof hooks.token === 'string') token = hooks.token;
  if (token === undefined || token === '') {
    throw new ConfigError(
      `No OpenClaw hooks token: set hooks.enabled: true and hooks.token in ${configPath} (OpenClaw needs both to accept hooks), or gateway.token in the webhook_delivery job's config.`,
    );
  }
  // Settings given in the job say the owner set the gateway up; otherwise openclaw.json must agree.
  const fromJob =
    settings.url !== undefined || settings.token !== undefined || settings.tokenFile !== undefined;
  if (!fromJob && hooks.enabled !== true) {
    throw new ConfigError(
      `OpenClaw's hooks are not enabled: set hooks.enabled: true in ${configPath} and restart the gateway.`,
    );
  }
  const port =
    typeof openclaw.gateway?.port === 'number' ? openclaw.gateway.port : DEFAULT_GATEWAY_PORT;
  const base = (settings.url ?? `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  const path =
    settings.hooksPath ?? (typeof hooks.path === 'string' ? hooks.path : DEFAULT_HOOKS_PATH);
  const maxBodyBytes =
    settings.maxBodyBytes ??
    (typeof hooks.maxBodyBytes === 'number' ? hooks.maxBodyBytes : DEFAULT_HOOKS_MAX_BODY_BYTES);
  return {
    hooksUrl: `${base}/${path.replace(/^\/+|\/+$/g, '')}`.replace(/\/$/, ''),
    token,
    maxBodyBytes,
    source: settings.url === undefined ? configPath : 'the job config',
  };
}
