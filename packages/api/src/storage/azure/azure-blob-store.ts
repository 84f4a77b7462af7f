import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ContainerClient } from '@azure/storage-blob';
import {
  NotFoundError,
  checkBlobKey,
  isFileSource,
  sourceOf,
  type BlobSource,
  type BlobInfo,
  type BlobStore,
  type ByteSource,
  type PutBlobOptions,
  type PutBlobResult,
} from '@nexus/core';
import { azureStatus, isMissingStorage, translateAzureError } from './azure-errors.ts';
import { StorageRecreator } from './missing-storage.ts';

/** Bodies up to this size go up in one request; larger ones as staged blocks. */
const SINGLE_PUT_BYTES = 4 * 1024 * 1024;
const BLOCK_BYTES = 4 * 1024 * 1024;
/** Blocks uploading at once: memory in flight is at most this many blocks. */
const BLOCKS_IN_FLIGHT = 3;

/**
 * Blobs in one container. Create-only writes use `If-None-Match: *`: on the single put, or on
 * the block-list commit for large bodies, so a blob becomes visible only when the whole source
 * was read without error; staged but uncommitted blocks are discarded by the service.
 */
export class AzureBlobStore implements BlobStore {
  private readonly container: ContainerClient;
  /** A container deleted under a running API is created again (the write then retried once). */
  private readonly containerRecreator: StorageRecreator;

  constructor(container: ContainerClient) {
    this.container = container;
    this.containerRecreator = new StorageRecreator(
      `Blob container ${container.containerName}`,
      async () => {
        await container.createIfNotExists();
      },
    );
  }

  async putIfAbsent(
    key: string,
    source: BlobSource,
    options: PutBlobOptions = {},
  ): Promise<PutBlobResult> {
    checkBlobKey(key);
    const client = this.container.getBlockBlobClient(key);
    const headers = options.contentType ? { blobContentType: options.contentType } : {};
    const stream = isFileSource(source)
      ? createReadStream(source.file, { highWaterMark: 256 * 1024 })
      : sourceOf(source);
    const chunker = new Chunker(stream, SINGLE_PUT_BYTES);
    const first = await chunker.next();
    // A body that fits one request goes straight to the conditional put, which answers "exists"
    // itself: one round trip instead of two (bench B1a).
    if (chunker.finished) {
      const body = first ?? new Uint8Array(0);
      const created = await this.containerRecreator
        .run(() =>
          this.commitOnce(key, (conditions) =>
            client.upload(body, body.byteLength, { conditions, blobHTTPHeaders: headers }),
          ),
        )
        .catch((error: unknown) => {
          throw translateAzureError(error, `writing blob ${key}`);
        });
      return { created, size: body.byteLength };
    }
    // A larger one is checked first, so an existing blob's content is read but not sent again.
    if (await this.head(key)) {
      let size = first?.byteLength ?? 0;
      for (let rest = await chunker.next(BLOCK_BYTES); rest; rest = await chunker.next(BLOCK_BYTES))
        size += rest.byteLength;
      return { created: false, size };
    }
    const uploadId = randomUUID().replaceAll('-', '');
    const blockIds: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let stagingFailure: unknown;
    let size = 0;
    for (
      let block: Uint8Array | undefined = first;
      block;
      block = await chunker.next(BLOCK_BYTES)
    ) {
      const id = Buffer.from(`${uploadId}-${String(blockIds.length).padStart(6, '0')}`).toString(
        'base64',
      );
      blockIds.push(id);
      size += block.byteLength;
      // Settles to void either way, so an abandoned upload never leaves an unhandled rejection.
      const staging: Promise<void> = client.stageBlock(id, block, block.byteLength).then(
        () => void inFlight.delete(staging),
        (error: unknown) => {
          inFlight.delete(staging);
          stagingFailure ??= error;
        },
      );
      inFlight.add(staging);
      if (inFlight.size >= BLOCKS_IN_FLIGHT) await Promise.race(inFlight);
      if (stagingFailure !== undefined) throw await this.stagingError(stagingFailure, key);
    }
    await Promise.all(inFlight);
    if (stagingFailure !== undefined) throw await this.stagingError(stagingFailure, key);
    const created = await this.commitOnce(key, (conditions) =>
      client.commitBlockList(blockIds, { conditions, blobHTTPHeaders: headers }),
    ).catch(async (error: unknown) => {
      throw await this.stagingError(error, key);
    });
    return { created, size };
  }

  /**
   * A large body's stream cannot be read twice: when its container is gone, the container is
   * created again and the client told to retry (503), rather than answered 404.
   */
  private async stagingError(failure: unknown, key: string): Promise<Error> {
    if (isMissingStorage(failure)) await this.containerRecreator.recreate(failure);
    return translateAzureError(failure, `writing blob ${key}`);
  }

  /**
   * Runs the committing request with `If-None-Match: *`. A 409/412 is believed only when a
   * committed blob is really there: Azurite (unlike Azure) also refuses the condition when an
   * earlier, abandoned upload left uncommitted blocks under the key, and answering "already
   * present" then would lose the content. Without a committed blob the request is sent again
   * unconditionally; Nexus keys name their content (agent, session, SHA-256), so the only writer
   * that could race it writes the same bytes.
   */
  private async commitOnce(
    key: string,
    commit: (conditions: { ifNoneMatch?: string }) => Promise<unknown>,
  ): Promise<boolean> {
    try {
      await commit({ ifNoneMatch: '*' });
      return true;
    } catch (error) {
      const status = azureStatus(error);
      if (isMissingStorage(error)) throw error;
      if (status !== 409 && status !== 412) throw translateAzureError(error, `writing blob ${key}`);
      if (await this.head(key)) return false;
    }
    try {
      await commit({});
      return true;
    } catch (error) {
      if (isMissingStorage(error)) throw error;
      throw translateAzureError(error, `writing blob ${key}`);
    }
  }

  async get(
    key: string,
    options: { readonly start?: number } = {},
  ): Promise<{ info: BlobInfo; body: ByteSource }> {
    checkBlobKey(key);
    const start = Math.max(0, options.start ?? 0);
    try {
      const response = await this.container.getBlobClient(key).download(start);
      const body = response.readableStreamBody;
      if (!body) throw new Error('the download returned no body stream');
      // A ranged answer's Content-Length is the range's; the whole size is in Content-Range.
      const whole = /\/(\d+)$/.exec(response.contentRange ?? '')?.[1];
      return {
        info: { key, size: whole === undefined ? (response.contentLength ?? 0) : Number(whole) },
        body: body as AsyncIterable<Uint8Array>,
      };
    } catch (error) {
      if (azureStatus(error) === 404) throw new NotFoundError(`No blob ${key}.`, 'blob_not_found');
      if (azureStatus(error) === 416) {
        // Asked from its end on (an empty blob, or a start at its size): nothing to read.
        const info = await this.head(key);
        if (info) return { info, body: sourceOf(new Uint8Array(0)) };
      }
      throw translateAzureError(error, `reading blob ${key}`);
    }
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    checkBlobKey(key);
    try {
      const properties = await this.container.getBlobClient(key).getProperties();
      return { key, size: properties.contentLength ?? 0 };
    } catch (error) {
      if (azureStatus(error) === 404) return undefined;
      throw translateAzureError(error, `reading properties of blob ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    try {
      for await (const item of this.container.listBlobsFlat({ prefix })) {
        yield { key: item.name, size: item.properties.contentLength ?? 0 };
      }
    } catch (error) {
      throw translateAzureError(error, `listing blobs under ${prefix}`);
    }
  }

  async delete(key: string): Promise<void> {
    checkBlobKey(key);
    try {
      await this.container.getBlobClient(key).deleteIfExists();
    } catch (error) {
      throw translateAzureError(error, `deleting blob ${key}`);
    }
  }
}

/** Regroups a byte source into chunks of a target size, so blocks are few and large. */
class Chunker {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private carry: Uint8Array | undefined;
  private readonly firstSize: number;
  private done = false;

  constructor(source: ByteSource, firstSize: number) {
    this.iterator = source[Symbol.asyncIterator]();
    this.firstSize = firstSize;
  }

  /** The source is exhausted and every byte was handed out. */
  get finished(): boolean {
    return this.done && this.carry === undefined;
  }

  /**
   * The next chunk of up to `size` bytes, or `undefined` at the end. The first call reads one
   * byte more than `size` to learn whether the source is already finished.
   */
  async next(size = this.firstSize): Promise<Uint8Array | undefined> {
    const parts: Uint8Array[] = [];
    let length = 0;
    if (this.carry) {
      parts.push(this.carry);
      length = this.carry.byteLength;
      this.carry = undefined;
    }
    while (length < size + 1 && !this.done) {
      const result = await this.iterator.next();
      if (result.done) {
        this.done = true;
        break;
      }
      parts.push(result.value);
      length += result.value.byteLength;
    }
    if (length === 0) return undefined;
    const joined = parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts, length);
    if (joined.byteLength > size) {
      this.carry = joined.subarray(size);
      return joined.subarray(0, size);
    }
    return joined;
  }
}
