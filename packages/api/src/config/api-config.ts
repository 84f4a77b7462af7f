import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, DEFAULT_HOST_ID, describeIssue, validateHostId } from '@nexus/core';
import { SecretMasker, parseMaskPatterns, type MaskRule } from '../content/secret-mask.ts';
import type { AzureStorageConfig } from '../storage/azure/open-azure-storage.ts';
import { DEFAULT_MAX_WEBHOOK_BYTES } from '../webhooks/ingest-webhook.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../webhooks/retry-policy.ts';
import { DEFAULT_RETENTION, type RetentionPolicy } from '../webhooks/webhook-queue.ts';

const DAY_MS = 24 * 3600_000;

export type StorageConfig =
  | { readonly kind: 'embedded'; readonly dataDir: string }
  | ({ readonly kind: 'azure' } & AzureStorageConfig);

export interface ApiConfig {
  readonly host: string;
  readonly port: number;
  /** Where embedded storage and a generated API key live. */
  readonly dataDir: string;
  readonly storage: StorageConfig;
  readonly apiKeys: readonly string[];
  /** Where data from before hosts existed moves, and what the deprecated routes address. */
  readonly defaultHostId: string;
  /** A host not heard from for this long is shown `silent`. */
  readonly hostSilentMs: number;
  readonly maxTranscriptBytes: number;
  /** Largest encrypted OpenClaw state archive a host may store. */
  readonly maxStateBackupBytes: number;
  readonly maxWebhookBytes: number;
  readonly webhookRetry: RetryPolicy;
  readonly webhookRetention: RetentionPolicy;
  readonly logLevel: string;
  /** Signs dashboard logins; absent: a random secret kept in storage. */
  readonly dashboardSecret?: string;
  /** The address senders call (behind a proxy): what Twilio signs. */
  readonly publicUrl?: string;
  /** The owner's secret patterns (`NEXUS_MASK_PATTERNS`), masked with the built-in ones. */
  readonly maskRules: readonly MaskRule[];
  /** Full-text search: which index, if any (`searchConfig`). */
  readonly search: SearchConfig;
}

/**
 * Where search looks: Azure AI Search when `NEXUS_SEARCH_ENDPOINT` is set, else SQLite beside
 * embedded storage, else nothing (Azure storage without Azure AI Search, or `NEXUS_SEARCH=off`).
 */
export type SearchConfig =
  | { readonly kind: 'off' }
  | { readonly kind: 'sqlite' }
  | {
      readonly kind: 'azure';
      readonly endpoint: string;
      readonly indexName: string;
      /** An admin key; absent: Entra ID (`DefaultAzureCredential`). */
      readonly key?: string;
    };

export const DEFAULT_SEARCH_INDEX = 'nexus-messages';

export const DEFAULT_PORT = 7420;
/** Keys of `NEXUS_API_KEYS` are admin keys: at least this long, or the server refuses to start. */
export const MIN_KEY_LENGTH = 16;
export const DEFAULT_MAX_TRANSCRIPT_BYTES = 1024 * 1024 * 1024;
export const DEFAULT_MAX_STATE_BACKUP_BYTES = 4 * 1024 * 1024 * 1024;

const whole = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be from ${min} to ${max}`);

const envSchema = z.object({
  NEXUS_HOST: z.string().min(1).default('127.0.0.1'),
  NEXUS_PORT: whole('NEXUS_PORT', 0, 65535).optional(),
  NEXUS_DATA_DIR: z.string().min(1).optional(),
  NEXUS_STORAGE: z
    .enum(['embedded', 'azure'], { message: 'NEXUS_STORAGE must be "embedded" or "azure"' })
    .optional(),
  NEXUS_API_KEYS: z
    .string()
    .optional()
    .superRefine((value, context) => {
      const short = splitKeys(value).filter((key) => key.length < MIN_KEY_LENGTH).length;
      if (short > 0)
        context.addIssue({
          code: 'custom',
          message: `NEXUS_API_KEYS holds ${short} key${short === 1 ? '' : 's'} shorter than ${MIN_KEY_LENGTH} characters; use long random keys, e.g. from "openssl rand -base64 32"`,
        });
    }),
  NEXUS_DEFAULT_HOST: z
    .string()
    .refine(
      (value) => {
        try {
          validateHostId(value);
          return true;
        } catch {
          return false;
        }
      },
      {
        message:
          'NEXUS_DEFAULT_HOST must be a host id: 1 to 63 lowercase letters, digits and \'-\', e.g. "laptop"',
      },
    )
    .default(DEFAULT_HOST_ID),
  NEXUS_MAX_TRANSCRIPT_BYTES: whole(
    'NEXUS_MAX_TRANSCRIPT_BYTES',
    1024,
    Number.MAX_SAFE_INTEGER,
  ).optional(),
  NEXUS_MAX_STATE_BACKUP_BYTES: whole(
    'NEXUS_MAX_STATE_BACKUP_BYTES',
    1024,
    Number.MAX_SAFE_INTEGER,
  ).optional(),
  NEXUS_MAX_WEBHOOK_BYTES: whole('NEXUS_MAX_WEBHOOK_BYTES', 1024, 1024 * 1024 * 1024).optional(),
  NEXUS_WEBHOOK_MAX_ATTEMPTS: whole('NEXUS_WEBHOOK_MAX_ATTEMPTS', 1, 100).optional(),
  NEXUS_WEBHOOK_RETRY_BASE_SECONDS: whole('NEXUS_WEBHOOK_RETRY_BASE_SECONDS', 1, 3600).optional(),
  NEXUS_WEBHOOK_RETENTION_DAYS: whole('NEXUS_WEBHOOK_RETENTION_DAYS', 1, 3650).optional(),
  NEXUS_WEBHOOK_DEAD_RETENTION_DAYS: whole('NEXUS_WEBHOOK_DEAD_RETENTION_DAYS', 0, 3650).optional(),
  NEXUS_HOST_SILENT_MINUTES: whole('NEXUS_HOST_SILENT_MINUTES', 1, 100_000).optional(),
  NEXUS_PUBLIC_URL: z
    .url({
      protocol: /^https?$/,
      message: 'NEXUS_PUBLIC_URL must be an http(s) URL, e.g. https://nexus.example.com',
    })
    .optional(),
  NEXUS_MASK_PATTERNS: z.string().optional(),
  NEXUS_SEARCH: z
    .enum(['on', 'off'], { message: 'NEXUS_SEARCH must be "on" or "off"' })
    .default('on'),
  NEXUS_SEARCH_ENDPOINT: z
    .url({
      protocol: /^https?$/,
      message:
        'NEXUS_SEARCH_ENDPOINT must be the Azure AI Search service URL, e.g. https://my-search.search.windows.net',
    })
    .optional(),
  NEXUS_SEARCH_INDEX: z
    .string()
    .regex(
      /^[a-z0-9](?:[a-z0-9-]{0,126}[a-z0-9])?$/,
      'NEXUS_SEARCH_INDEX must be 1 to 128 lower-case letters, digits and dashes, not starting or ending with a dash',
    )
    .default(DEFAULT_SEARCH_INDEX),
  NEXUS_SEARCH_KEY: z.string().min(1).optional(),
  NEXUS_DASHBOARD_SECRET: z
    .string()
    .min(32, 'NEXUS_DASHBOARD_SECRET must be at least 32 characters (e.g. openssl rand -hex 32)')
    .optional(),
  NEXUS_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
  AZURE_STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
  NEXUS_AZURE_BLOB_URL: z
    .url({
      message: 'NEXUS_AZURE_BLOB_URL must be a URL like https://<account>.blob.core.windows.net',
    })
    .optional(),
  NEXUS_AZURE_TABLE_URL: z
    .url({
      message: 'NEXUS_AZURE_TABLE_URL must be a URL like https://<account>.table.core.windows.net',
    })
    .optional(),
  NEXUS_AZURE_CONTAINER: z
    .string()
    .regex(
      /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/,
      'NEXUS_AZURE_CONTAINER must be 3-63 lowercase letters, digits and single hyphens',
    )
    .default('nexus'),
  NEXUS_AZURE_TABLE_PREFIX: z
    .string()
    .regex(
      /^[A-Za-z][A-Za-z0-9]{0,40}$/,
      'NEXUS_AZURE_TABLE_PREFIX must be letters and digits, starting with a letter',
    )
    .default('nexus'),
});

export interface ConfigOverrides {
  readonly host?: string;
  readonly port?: number;
  readonly dataDir?: string;
}

/**
 * The API's configuration from environment variables (see docs/CONFIGURATION in the README),
 * with command-line overrides. Fails with a `ConfigError` that names each bad variable.
 */
export function loadApiConfig(
  env: Readonly<Record<string, string | undefined>>,
  overrides: ConfigOverrides = {},
): ApiConfig {
  const parsed = envSchema.safeParse(pickDefined(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `- ${describeIssue(issue, { whole: 'environment' })}`,
    );
    throw new ConfigError(`The API configuration is not valid:\n${problems.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = resolve(overrides.dataDir ?? defaultDataDir(env));
  const wantsAzure =
    e.NEXUS_STORAGE === 'azure' ||
    (e.NEXUS_STORAGE === undefined &&
      (e.AZURE_STORAGE_CONNECTION_STRING ?? e.NEXUS_AZURE_BLOB_URL) !== undefined);
  return {
    host: overrides.host ?? e.NEXUS_HOST,
    port: overrides.port ?? e.NEXUS_PORT ?? DEFAULT_PORT,
    dataDir,
    storage: wantsAzure ? azureStorage(e) : { kind: 'embedded', dataDir: join(dataDir, 'data') },
    apiKeys: splitKeys(e.NEXUS_API_KEYS),
    defaultHostId: e.NEXUS_DEFAULT_HOST,
    hostSilentMs: (e.NEXUS_HOST_SILENT_MINUTES ?? 60) * 60_000,
    ...(e.NEXUS_DASHBOARD_SECRET === undefined
      ? {}
      : { dashboardSecret: e.NEXUS_DASHBOARD_SECRET }),
    maxTranscriptBytes: e.NEXUS_MAX_TRANSCRIPT_BYTES ?? DEFAULT_MAX_TRANSCRIPT_BYTES,
    maxStateBackupBytes: e.NEXUS_MAX_STATE_BACKUP_BYTES ?? DEFAULT_MAX_STATE_BACKUP_BYTES,
    maxWebhookBytes: e.NEXUS_MAX_WEBHOOK_BYTES ?? DEFAULT_MAX_WEBHOOK_BYTES,
    webhookRetry: {
      ...DEFAULT_RETRY_POLICY,
      ...(e.NEXUS_WEBHOOK_MAX_ATTEMPTS === undefined
        ? {}
        : { maxAttempts: e.NEXUS_WEBHOOK_MAX_ATTEMPTS }),
      ...(e.NEXUS_WEBHOOK_RETRY_BASE_SECONDS === undefined
        ? {}
        : { baseDelayMs: e.NEXUS_WEBHOOK_RETRY_BASE_SECONDS * 1000 }),
    },
    webhookRetention: {
      deliveredMs:
        e.NEXUS_WEBHOOK_RETENTION_DAYS === undefined
          ? DEFAULT_RETENTION.deliveredMs
          : e.NEXUS_WEBHOOK_RETENTION_DAYS * DAY_MS,
      deadMs:
        e.NEXUS_WEBHOOK_DEAD_RETENTION_DAYS === undefined
          ? DEFAULT_RETENTION.deadMs
          : e.NEXUS_WEBHOOK_DEAD_RETENTION_DAYS * DAY_MS,
    },
    logLevel: e.NEXUS_LOG_LEVEL,
    maskRules: parseMaskPatterns(e.NEXUS_MASK_PATTERNS),
    search: searchConfig(e, wantsAzure),
  };
}

function searchConfig(e: z.infer<typeof envSchema>, azureStorage: boolean): SearchConfig {
  if (e.NEXUS_SEARCH_KEY !== undefined && e.NEXUS_SEARCH_ENDPOINT === undefined)
    throw new ConfigError(
      'NEXUS_SEARCH_KEY is set without NEXUS_SEARCH_ENDPOINT: set the Azure AI Search service URL too (https://<service>.search.windows.net), or remove the key.',
    );
  if (e.NEXUS_SEARCH === 'off') return { kind: 'off' };
  if (e.NEXUS_SEARCH_ENDPOINT !== undefined) {
    const { protocol, hostname } = new URL(e.NEXUS_SEARCH_ENDPOINT);
    if (protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(hostname))
      throw new ConfigError(
        `NEXUS_SEARCH_ENDPOINT must use https (plain http only to this machine); got ${e.NEXUS_SEARCH_ENDPOINT}.`,
      );
    return {
      kind: 'azure',
      endpoint: e.NEXUS_SEARCH_ENDPOINT,
      indexName: e.NEXUS_SEARCH_INDEX,
      ...(e.NEXUS_SEARCH_KEY === undefined ? {} : { key: e.NEXUS_SEARCH_KEY }),
    };
  }
  return azureStorage ? { kind: 'off' } : { kind: 'sqlite' };
}

function azureStorage(e: z.infer<typeof envSchema>): StorageConfig {
  const names = { container: e.NEXUS_AZURE_CONTAINER, tablePrefix: e.NEXUS_AZURE_TABLE_PREFIX };
  if (e.AZURE_STORAGE_CONNECTION_STRING) {
    return { kind: 'azure', connectionString: e.AZURE_STORAGE_CONNECTION_STRING, ...names };
  }
  if (e.NEXUS_AZURE_BLOB_URL && e.NEXUS_AZURE_TABLE_URL) {
    return {
      kind: 'azure',
      blobUrl: e.NEXUS_AZURE_BLOB_URL,
      tableUrl: e.NEXUS_AZURE_TABLE_URL,
      ...names,
    };
  }
  throw new ConfigError(
    'Azure storage needs either AZURE_STORAGE_CONNECTION_STRING, or both NEXUS_AZURE_BLOB_URL and NEXUS_AZURE_TABLE_URL (signed in through DefaultAzureCredential).',
  );
}

function splitKeys(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
}

/** Empty variables count as unset, as shells and .env files produce them. */
function pickDefined(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env))
    if (value !== undefined && value !== '') out[key] = value;
  return out;
}

/** The settings the app itself takes from the configuration, the same for every runtime adapter. */
/** The data folder unless `--data-dir` says otherwise: `$NEXUS_DATA_DIR`, else `~/.nexus`. */
export function defaultDataDir(env: Readonly<Record<string, string | undefined>>): string {
  return resolve(env['NEXUS_DATA_DIR'] ?? join(homedir(), '.nexus'));
}

export function appSettings(config: ApiConfig) {
  return {
    maxTranscriptBytes: config.maxTranscriptBytes,
    maxStateBackupBytes: config.maxStateBackupBytes,
    defaultHostId: config.defaultHostId,
    hostSilentMs: config.hostSilentMs,
    maxWebhookBytes: config.maxWebhookBytes,
    webhookRetry: config.webhookRetry,
    webhookRetention: config.webhookRetention,
    ...(config.dashboardSecret === undefined ? {} : { dashboardSecret: config.dashboardSecret }),
    ...(config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl }),
    masker: new SecretMasker(config.maskRules),
  };
}
