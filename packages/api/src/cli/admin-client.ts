import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsOptionDescriptor } from 'node:util';
import {
  ApiAnswerError as CoreApiAnswerError,
  ApiUnreachableError,
  ConfigError,
  UsageError,
  callApi,
  type SendRequest,
} from '@nexus/core';
import { defaultDataDir } from '../config/api-config.ts';
import { API_KEY_FILE } from '../node/generated-api-key.ts';
import { DEFAULT_PORT } from '../config/api-config.ts';

/** Options every admin command takes: where the API is and how to authenticate. */
export const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  'api-key-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * An admin command's arguments: its own options beside the connection's, words after the
 * command allowed, an unknown option refused.
 */
export function parseAdminArgs<const T extends Record<string, ParseArgsOptionDescriptor>>(
  argv: readonly string[],
  options: T,
) {
  return parseArgs({
    args: [...argv],
    options: { ...CONNECTION_OPTIONS, ...options },
    allowPositionals: true,
    strict: true,
  });
}

export const CONNECTION_HELP = `Connection:
  --url <url>             the Nexus API (env NEXUS_URL, default http://127.0.0.1:${DEFAULT_PORT})
  --api-key-file <path>   file holding the API key (default: env NEXUS_API_KEY, else
                          <NEXUS_DATA_DIR or ~/.nexus>/api-key, the key "nexus serve" generated)
  --json                  print the API's JSON answer instead of text
  -h, --help              show this help`;

/**
 * The owner's client for the management routes. The key is read from the environment or a file,
 * never from the command line, where other users of the machine could see it in `ps`.
 */
export class AdminClient {
  readonly url: string;
  private readonly key: string;

  constructor(
    values: { url?: string | undefined; 'api-key-file'?: string | undefined },
    env: NodeJS.ProcessEnv,
  ) {
    this.url = (values.url ?? env['NEXUS_URL'] ?? `http://127.0.0.1:${DEFAULT_PORT}`).replace(
      /\/+$/,
      '',
    );
    this.key = values['api-key-file']
      ? readKey(values['api-key-file'])
      : (env['NEXUS_API_KEY'] ?? readKey(join(defaultDataDir(env), API_KEY_FILE)));
  }

  /** One request (`callApi`); a non-2xx answer becomes an error carrying the API's own message. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return (await callApi(sendWithFetch, { baseUrl: this.url, apiKey: this.key }, method, path, {
        body,
      })) as T;
    } catch (error) {
      if (error instanceof CoreApiAnswerError) throw new ApiAnswerError(error.status, error.detail);
      if (error instanceof ApiUnreachableError)
        throw new ConfigError(
          `Cannot reach the Nexus API at ${error.baseUrl} (${error.reason}); start it with "npm start" or pass --url.`,
        );
      throw error;
    }
  }

  async raw(path: string): Promise<Uint8Array> {
    const response = await this.open(path);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** A download's answer, its body not yet read; a non-2xx answer becomes its API error. */
  async open(path: string): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        headers: { authorization: `Bearer ${this.key}` },
      });
    } catch (error) {
      throw new ConfigError(
        `Cannot reach the Nexus API at ${this.url} (${(error as Error).message}); start it with "npm start" or pass --url.`,
      );
    }
    if (!response.ok) {
      const text = await response.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error: { message: string } }).error.message;
      } catch {
        // not the API's JSON error: shown as it came
      }
      throw new ApiAnswerError(response.status, message);
    }
    return response;
  }
}

/** The API refused the request: its message says what to fix, one line, exit code 2. */
export class ApiAnswerError extends UsageError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(`the API answered ${status}: ${message}`);
    this.name = 'ApiAnswerError';
    this.status = status;
  }
}

/** `callApi`'s sender for the CLI: Node's fetch. */
const sendWithFetch: SendRequest = async (url, init) => {
  const response = await fetch(url, {
    method: init.method,
    headers: init.headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: response.status, text: await response.text() };
};

function readKey(path: string): string {
  try {
    const key = readFileSync(path, 'utf8').trim();
    if (key !== '') return key;
  } catch {
    // reported below
  }
  throw new ConfigError(
    `No API key: ${path} is missing or empty. Set NEXUS_API_KEY, or pass --api-key-file, or start the API once ("npm start") to generate the key.`,
  );
}

/**
 * A management command's help: on `--help` (exit 0), or when no subcommand was given (exit 2,
 * it was a mistake); `undefined` when the command should run.
 */
export function helpExit(
  help: boolean | undefined,
  sub: string | undefined,
  text: string,
): number | undefined {
  if (!help && sub !== undefined) return undefined;
  process.stdout.write(text);
  return sub === undefined && !help ? 2 : 0;
}

/** Prints an answer: the API's JSON with `--json`, else the text for people; exit code 0. */
export function printAnswer(
  json: boolean | undefined,
  answer: unknown,
  text: () => string,
): number {
  process.stdout.write(`${json ? JSON.stringify(answer, null, 2) : text()}\n`);
  return 0;
}

/**
 * The host a command means: `--host`, else the only host the API knows (the usual single machine),
 * else `default`; with several hosts the user must say which.
 */
export async function resolveHost(client: AdminClient, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const { hosts } = await client.request<{ hosts: { hostId: string }[] }>('GET', '/v1/hosts');
  const [only] = hosts;
  if (hosts.length === 0) return 'default';
  if (hosts.length === 1 && only) return only.hostId;
  throw new UsageError(
    `This Nexus serves several hosts (${hosts.map((h) => h.hostId).join(', ')}); say which with --host <id>.`,
  );
}

export function requireArg(value: string | undefined, what: string, usage: string): string {
  if (value === undefined || value === '') throw new UsageError(`${what} is missing: ${usage}`);
  return value;
}
