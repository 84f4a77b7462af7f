import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigError } from '@nexus/core';

/** Where a host's state backups are kept: the API's `/v1/hosts/{host}/state-backups`. */
export interface StateBackupTarget {
  readonly url: string;
  readonly apiKey: string;
  readonly hostId: string;
}

export interface StoredBackup {
  readonly name: string;
  readonly bytes: number;
  readonly storedAt: string;
}

function pathOf(target: StateBackupTarget, name?: string): string {
  const base = `${target.url.replace(/\/+$/, '')}/v1/hosts/${encodeURIComponent(target.hostId)}/state-backups`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

async function failure(response: Response, what: string): Promise<ConfigError> {
  const text = (await response.text()).slice(0, 400);
  let detail = text;
  try {
    detail = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    // not JSON: the text as it is
  }
  return new ConfigError(`${what}: the API answered ${String(response.status)}: ${detail}`);
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
  const response = await fetch(pathOf(target), {
    headers: { authorization: `Bearer ${target.apiKey}` },
  });
  if (!response.ok) throw await failure(response, 'listing the state backups');
  return ((await response.json()) as { backups: StoredBackup[] }).backups;
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
  const response = await fetch(pathOf(target, name), {
    method: 'DELETE',
    headers: { authorization: `Bearer ${target.apiKey}` },
  });
  if (!response.ok) throw await failure(response, `removing ${name}`);
}
