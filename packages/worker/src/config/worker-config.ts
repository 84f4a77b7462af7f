import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  DEFAULT_HOST_ID,
  MAX_HOST_ID_LENGTH,
  describeIssue,
  validateHostId,
} from '@nexus/core';
import { expandPath } from '../expand-path.ts';
import { resolveStateDir } from '../openclaw/state-dir.ts';

/** Nexus's own folder on this machine (`~/.nexus`): the worker's config, state and the API's key. */
export function nexusHome(): string {
  return join(homedir(), '.nexus');
}

export function defaultConfigPath(env: Readonly<Record<string, string | undefined>>): string {
  return env['NEXUS_WORKER_CONFIG']
    ? resolve(env['NEXUS_WORKER_CONFIG'])
    : join(nexusHome(), 'worker.json');
}

const jobSchema = z
  .object({
    id: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9_-]{0,63}$/,
        'must be lowercase letters, digits, "-" or "_", e.g. "session-upload"',
      ),
    type: z.string().min(1),
    enabled: z.boolean().default(true),
    intervalMinutes: z
      .number({ message: 'must be a number of minutes, e.g. 15' })
      .positive('must be more than 0')
      .max(7 * 24 * 60, 'must be at most a week (10080)'),
    config: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const hostSchema = z
  .object({
    id: z.string().refine(isHostId, {
      message: `must be a host id: 1 to ${MAX_HOST_ID_LENGTH} lowercase letters, digits and '-', e.g. "laptop"`,
    }),
    name: z.string().min(1).max(100).optional(),
  })
  .strict();

const fileSchema = z
  .object({
    /** This machine as Nexus knows it; configs from before hosts existed have none. */
    host: hostSchema.optional(),
    nexus: z
      .object({
        url: z.url({ message: 'must be the API base URL, e.g. "http://127.0.0.1:7420"' }),
        apiKey: z.string().min(1).optional(),
        apiKeyFile: z.string().min(1).optional(),
      })
      .strict(),
    openclaw: z
      .object({
        stateDir: z.string().min(1).optional(),
        agents: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .default({}),
    stateDir: z.string().min(1).optional(),
    jobs: z
      .array(jobSchema)
      .min(
        1,
        'list at least one job, e.g. {"id":"session-upload","type":"session_upload","intervalMinutes":15}',
      ),
  })
  .strict();

export interface JobDefinition {
  readonly id: string;
  readonly type: string;
  readonly enabled: boolean;
  readonly intervalMinutes: number;
  /** Validated by the job type's own schema. */
  readonly config: unknown;
}

/**
 * The job types the config may name, each with the schema of its `config` object. Handed in by
 * the caller (the registry), so the config module knows no job.
 */
export type JobConfigSchemas = Readonly<Record<string, { readonly configSchema: z.ZodType }>>;

export interface WorkerConfig {
  readonly path: string;
  /**
   * This machine: its id keys everything it uploads and the webhooks it may claim. `named` is
   * false for a config from before hosts existed, which speaks for the default host.
   */
  readonly host: { readonly id: string; readonly name: string; readonly named: boolean };
  readonly nexus: { readonly url: string; readonly apiKey: string };
  readonly openclaw: { readonly stateDir: string; readonly agents: readonly string[] | undefined };
  /** The worker's own state: schedule and upload ledger. */
  readonly stateDir: string;
  readonly jobs: readonly JobDefinition[];
}

/**
 * Reads and validates config.json. Secrets may come from the environment instead of the file:
 * `NEXUS_API_KEY` (or `nexus.apiKeyFile`, e.g. the key `nexus serve` generated); `NEXUS_URL`
 * overrides the URL. Errors name the file, the field and the fix.
 */
export function loadWorkerConfig(
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  jobTypes: JobConfigSchemas,
): WorkerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(
      `No worker config at ${path}. Create one with "nexus-worker init", or pass --config <path>.`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `${path} is not valid JSON (${error instanceof Error ? error.message : 'parse error'}).`,
    );
  }
  return parseWorkerConfig(raw, path, env, jobTypes);
}

export function parseWorkerConfig(
  raw: unknown,
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  jobTypes: JobConfigSchemas,
): WorkerConfig {
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `${path} is not valid:\n${parsed.error.issues.map((issue) => `- ${describeIssue(issue)}`).join('\n')}`,
    );
  }
  const file = parsed.data;
  const base = dirname(path);
  const jobs: JobDefinition[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  file.jobs.forEach((job, index) => {
    if (seen.has(job.id))
      problems.push(`- jobs[${index}].id: "${job.id}" is used twice; job ids must be unique`);
    seen.add(job.id);
    const type = jobTypes[job.type];
    if (!type) {
      problems.push(
        `- jobs[${index}].type: unknown job type "${job.type}"; known types: ${Object.keys(jobTypes).join(', ')}`,
      );
      return;
    }
    const config = type.configSchema.safeParse(job.config);
    if (!config.success) {
      for (const issue of config.error.issues)
        problems.push(`- ${describeIssue(issue, { prefix: `jobs[${index}].config` })}`);
      return;
    }
    jobs.push({ ...job, config: config.data });
  });
  const apiKey =
    env['NEXUS_API_KEY'] ?? file.nexus.apiKey ?? readKeyFile(file.nexus.apiKeyFile, base, problems);
  if (apiKey === undefined) {
    problems.push(
      '- nexus.apiKey: no API key; set "apiKey", or "apiKeyFile" (e.g. "~/.nexus/api-key"), or the NEXUS_API_KEY environment variable',
    );
  }
  if (problems.length > 0 || apiKey === undefined)
    throw new ConfigError(`${path} is not valid:\n${problems.join('\n')}`);
  return {
    path,
    host: file.host
      ? { id: file.host.id, name: file.host.name ?? file.host.id, named: true }
      : { id: DEFAULT_HOST_ID, name: DEFAULT_HOST_ID, named: false },
    nexus: { url: env['NEXUS_URL'] ?? file.nexus.url, apiKey },
    openclaw: {
      stateDir: file.openclaw.stateDir
        ? expandPath(file.openclaw.stateDir, base)
        : resolveStateDir(env),
      agents: file.openclaw.agents,
    },
    stateDir: file.stateDir ? expandPath(file.stateDir, base) : join(nexusHome(), 'worker'),
    jobs,
  };
}

function isHostId(value: string): boolean {
  try {
    validateHostId(value);
    return true;
  } catch {
    return false;
  }
}

function readKeyFile(
  file: string | undefined,
  base: string,
  problems: string[],
): string | undefined {
  if (file === undefined) return undefined;
  const path = expandPath(file, base);
  try {
    const key = readFileSync(path, 'utf8').trim();
    if (key !== '') return key;
    problems.push(`- nexus.apiKeyFile: ${path} is empty`);
  } catch {
    problems.push(
      `- nexus.apiKeyFile: cannot read ${path}; start the API once ("npm start") to create it, or set nexus.apiKey`,
    );
  }
  return undefined;
}
