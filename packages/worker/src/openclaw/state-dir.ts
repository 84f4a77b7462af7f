import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import JSON5 from 'json5';

/**
 * Where OpenClaw keeps its state (OPENCLAW.md, "State directory"): `$OPENCLAW_STATE_DIR`, else
 * `~/.openclaw-<profile>` for `OPENCLAW_PROFILE`, else `~/.openclaw`, falling back to the legacy
 * `~/.clawdbot` and `~/.moltbot` when `~/.openclaw` is missing.
 */
export function resolveStateDir(
  env: Readonly<Record<string, string | undefined>>,
  home = homedir(),
): string {
  if (env['OPENCLAW_STATE_DIR']) return resolve(env['OPENCLAW_STATE_DIR']);
  if (env['OPENCLAW_PROFILE']) return join(home, `.openclaw-${env['OPENCLAW_PROFILE']}`);
  const current = join(home, '.openclaw');
  if (existsSync(current)) return current;
  for (const legacy of ['.clawdbot', '.moltbot']) {
    if (existsSync(join(home, legacy))) return join(home, legacy);
  }
  return current;
}

export interface AgentSessions {
  readonly agentId: string;
  readonly sessionsDir: string;
  /** Era C's agent database, when it exists. */
  readonly databasePath: string | undefined;
}

/** Where OpenClaw 2026.8+ keeps an agent's live transcripts (OPENCLAW.md, "Era C"). */
export function agentDatabasePath(stateDir: string, agentId: string): string {
  return join(stateDir, 'agents', agentId, 'agent', 'openclaw-agent.sqlite');
}

interface OpenClawConfig {
  agents?: { list?: { id?: unknown }[] };
  session?: { store?: unknown };
}

/**
 * Reads `openclaw.json` (JSON5: comments and trailing commas allowed). Read-only: Nexus never
 * writes OpenClaw's config, whose strict validation would stop its gateway on an unknown key.
 */
export async function readOpenClawConfig(
  stateDir: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<OpenClawConfig | undefined> {
  const path = env['OPENCLAW_CONFIG_PATH'] ?? join(stateDir, 'openclaw.json');
  try {
    return JSON5.parse<OpenClawConfig>(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The agents, their sessions folders and databases: those listed in `openclaw.json`, plus every
 * `<root>/agents/<id>` with a `sessions` folder or an agent database. `session.store` (which may contain `{agentId}`)
 * moves the sessions index, and with it the folder. `only` restricts to the agents named.
 */
export async function discoverAgents(
  stateDir: string,
  env: Readonly<Record<string, string | undefined>>,
  only?: readonly string[],
): Promise<AgentSessions[]> {
  const config = await readOpenClawConfig(stateDir, env);
  const ids = new Set<string>();
  for (const agent of config?.agents?.list ?? [])
    if (typeof agent.id === 'string') ids.add(agent.id);
  try {
    for (const entry of await readdir(join(stateDir, 'agents'), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const hasSessions = existsSync(join(stateDir, 'agents', entry.name, 'sessions'));
      if (hasSessions || existsSync(agentDatabasePath(stateDir, entry.name))) ids.add(entry.name);
    }
  } catch {
    // No agents folder yet: nothing discovered from disk.
  }
  const store = typeof config?.session?.store === 'string' ? config.session.store : undefined;
  return [...ids]
    .filter((id) => only === undefined || only.includes(id))
    .sort()
    .map((agentId) => {
      const databasePath = agentDatabasePath(stateDir, agentId);
      return {
        agentId,
        sessionsDir: sessionsDirOf(stateDir, agentId, store),
        databasePath: existsSync(databasePath) ? databasePath : undefined,
      };
    });
}

function sessionsDirOf(stateDir: string, agentId: string, store: string | undefined): string {
  if (store === undefined) return join(stateDir, 'agents', agentId, 'sessions');
  const path = store.replaceAll('{agentId}', agentId).replace(/^~(?=\/|$)/, homedir());
  const absolute = isAbsolute(path) ? path : join(stateDir, path);
  return absolute.endsWith('.json') ? dirname(absolute) : absolute;
}
