import {
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
  queryAll,
  type ByteSource,
  type Storage,
} from '@nexus/core';

/**
 * A host's OpenClaw state archives, encrypted on the host with age before they leave it (the
 * archive holds OpenClaw's credentials). The API stores the ciphertext as it came and never
 * holds a key: it checks only that the bytes are an age file, so a plaintext archive sent by
 * mistake is refused instead of kept.
 *
 *   blob  state/<host>/<name>              the encrypted archive (or the passphrase-wrapped key)
 *   row   stateBackups  PK host, RK name   bytes, stored at
 */
export interface StateBackupInfo {
  readonly name: string;
  readonly bytes: number;
  readonly storedAt: string;
}

/** age's binary header line (age-encryption.org/v1); armored files are not taken. */
const AGE_MAGIC = Buffer.from('age-encryption.org/v1\n');
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.age$/;

export function validateBackupName(name: string): string {
  if (NAME.test(name) && !name.includes('..')) return name;
  throw new ValidationError(
    'invalid_backup_name',
    `${JSON.stringify(name.slice(0, 80))} is not a state backup name: letters, digits, '.', '_' and '-', ending in .age, at most 155 characters.`,
  );
}

function blobKey(hostId: string, name: string): string {
  return `state/${hostId}/${name}`;
}

export class StateBackups {
  private readonly storage: Storage;
  private readonly maxBytes: number;
  private readonly now: () => Date;

  constructor(storage: Storage, maxBytes: number, now: () => Date) {
    this.storage = storage;
    this.maxBytes = maxBytes;
    this.now = now;
  }

  /** Stores one encrypted archive, create-only: a name stored before answers `created: false`. */
  async put(
    hostId: string,
    nameInput: string,
    body: ByteSource,
    contentLength: number | undefined,
  ): Promise<{ created: boolean; info: StateBackupInfo }> {
    const name = validateBackupName(nameInput);
    if (contentLength !== undefined && contentLength > this.maxBytes) throw this.tooLarge();
    const result = await this.storage.blobs.putIfAbsent(blobKey(hostId, name), this.checked(body), {
      contentType: 'application/octet-stream',
    });
    const info: StateBackupInfo = {
      name,
      bytes: result.size,
      storedAt: this.now().toISOString(),
    };
    // The row after the blob: a listed backup always has its bytes.
    if (result.created)
      await this.storage.tables.upsert('stateBackups', {
        partitionKey: hostId,
        rowKey: name,
        properties: { bytes: info.bytes, storedAt: info.storedAt },
      });
    return { created: result.created, info };
  }

  async list(hostId: string): Promise<StateBackupInfo[]> {
    const out: StateBackupInfo[] = [];
    for await (const row of queryAll(this.storage.tables, 'stateBackups', hostId)) {
      out.push({
        name: row.rowKey,
        bytes: Number(row.properties['bytes']),
        storedAt: String(row.properties['storedAt']),
      });
    }
    return out;
  }

  async open(hostId: string, nameInput: string): Promise<{ bytes: number; body: ByteSource }> {
    const name = validateBackupName(nameInput);
    const row = await this.storage.tables.get('stateBackups', hostId, name);
    if (!row)
      throw new NotFoundError(
        `Host ${hostId} has no state backup ${name}; list them with GET /v1/hosts/${hostId}/state-backups.`,
        'state_backup_not_found',
      );
    const { info, body } = await this.storage.blobs.get(blobKey(hostId, name));
    return { bytes: info.size, body };
  }

  /** Removes one (retention); the row first, so a half-done removal hides nothing that exists. */
  async remove(hostId: string, nameInput: string): Promise<void> {
    const name = validateBackupName(nameInput);
    await this.storage.tables.delete('stateBackups', hostId, name);
    await this.storage.blobs.delete(blobKey(hostId, name));
  }

  /** The body, refused before its end unless it is an age file within the size limit. */
  private async *checked(body: ByteSource): ByteSource {
    let bytes = 0;
    let head = Buffer.alloc(0);
    for await (const chunk of body) {
      bytes += chunk.byteLength;
      if (bytes > this.maxBytes) throw this.tooLarge();
      if (head.length < AGE_MAGIC.length) {
        head = Buffer.concat([head, chunk.subarray(0, AGE_MAGIC.length - head.length)]);
        if (!AGE_MAGIC.subarray(0, head.length).equals(head)) throw notAge();
      }
      yield chunk;
    }
    if (head.length < AGE_MAGIC.length) throw notAge();
  }

  private tooLarge(): PayloadTooLargeError {
    return new PayloadTooLargeError(
      `The state backup is larger than ${String(this.maxBytes)} bytes, the limit of this server; raise NEXUS_MAX_STATE_BACKUP_BYTES on the server if such archives are expected.`,
    );
  }
}

function notAge(): ValidationError {
  return new ValidationError(
    'not_encrypted',
    'The body is not an age-encrypted file (it must begin with "age-encryption.org/v1"); state backups hold credentials and are encrypted on the host before they are sent (nexus-worker does this).',
  );
}
