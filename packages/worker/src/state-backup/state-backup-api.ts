import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigError, answerError } from '@nexus/core';
import { commandApi } from '../api-client/command-api.ts';

/** Where a host's state backups are kept: the API's `/v1/hosts/{host}/state-backups`. */
export interface StateBackupTarget {
  readonly url: string;
  readonly apiKey: string;
  readonly hostId: string;
}

/** The worker config's API and host (or another host, for a key that may read it). */
export function stateBackupTarget(
  config: {
    readonly nexus: { readonly url: string; readonly apiKey: string };
    readonly host: { readonly id: string };
  },
  hostId = config.host.id,
): StateBackupTarget {
  return { url: config.nexus.url, apiKey: config.nexus.apiKey, hostId };
}

export interface StoredBackup {
  readonly name: string;
  readonly bytes: number;
  readonly storedAt: string;
}

/** The route's path (for `commandApi`, which adds the URL). */
function backupsPath(target: StateBackupTarget, name?: string): string {
  const base = `/v1/hosts/${encodeURIComponent(target.hostId)}/state-backups`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** The route's whole URL, for the calls that stream bytes. */
function pathOf(target: StateBackupTarget, name?: string): string {
  return `${target.url.replace(/\/+$/, '')}${backupsPath(target, name)}`;
}

/** The API's refusal of a streamed call, in the same words `commandApi` gives JSON calls. */
async function failure(response: Response, what: string): Promise<ConfigError> {
  const { message } = answerError(response.status, await response.text());
  return new ConfigError(`${what}: the API answered ${String(response.status)}: ${message}`);
}

/** Sends a file (the encrypted archive) under `name`, streamed with its length. */
export async function putBackup(
  target: StateBackupTarget,
  name: string,
  file: string,
  signal?: AbortSignal,
): Promise<'created' | 'already_present'> {
  const { size } = await stat(file);
  // A streamed body needs `duplex: 'half'` (Node's fetch), which RequestInit's type lacks.
  const init: RequestInit & { duplex: 'half' } = {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${target.apiKey}`,
      'content-type': 'application/octet-stream',
      'content-length': String(size),
    },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
    duplex: 'half',
    ...(signal === undefined ? {} : { signal }),
  };
  const response = await fetch(pathOf(target, name), init);
  if (!response.ok) throw await failure(response, `storing ${name}`);
  const body = (await response.json()) as { status?: string };
  return body.status === 'already_present' ? 'already_present' : 'created';
}

/** Stores bytes under a new name; one stored before under that name is an error, not kept over. */
export async function putBackupBytes(
  target: StateBackupTarget,
  name: string,
  bytes: Uint8Array,
): Promise<void> {
  const response = await fetch(pathOf(target, name), {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${target.apiKey}`,
      'content-type': 'application/octet-stream',
    },
    body: bytes,
  });
  if (!response.ok) throw await failure(response, `storing ${name}`);
  if (response.status !== 201)
    throw new ConfigError(`storing ${name}: the API has one by that name already; try again`);
}

export async function listBackups(target: StateBackupTarget): Promise<StoredBackup[]> {
  const answer = (await commandApi(target, 'GET', backupsPath(target))) as {
    backups: StoredBackup[];
  };
  return answer.backups;
}

/** Streams a stored backup into `file` (created, never overwritten). */
export async function downloadBackup(
  target: StateBackupTarget,
  name: string,
  file: string,
): Promise<void> {
  const response = await fetch(pathOf(target, name), {
    headers: { authorization: `Bearer ${target.apiKey}` },
  });
  if (!response.ok || response.body === null) throw await failure(response, `reading ${name}`);
  await pipeline(
    Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>),
    createWriteStream(file, { flags: 'wx', mode: 0o600 }),
  );
}

export async function downloadBackupBytes(
  target: StateBackupTarget,
  name: string,
): Promise<Uint8Array> {
  const response = await fetch(pathOf(target, name), {
    headers: { authorization: `Bearer ${target.apiKey}` },
  });
  if (!response.ok) throw await failure(response, `reading ${name}`);
  return new Uint8Array(await response.arrayBuffer());
}

export async function removeBackup(target: StateBackupTarget, name: string): Promise<void> {
  await commandApi(target, 'DELETE', backupsPath(target, name));
}
