import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
  type ByteSource,
  type Storage,
} from '@nexus/core';

/**
 * The storage contract as tests: every backend runs this same suite against a real store
 * (the embedded one in a temp folder, the Azure one against Azurite). No mocks.
 */
export function describeStorageConformance(name: string, open: () => Promise<Storage>): void {
  describe(`storage contract: ${name}`, () => {
    let storage: Storage;
    beforeAll(async () => {
      storage = await open();
    });
    afterAll(async () => {
      await storage.close();
    });

    describe('blobs', () => {
      it('stores a blob once and reads back the same bytes', async () => {
        const bytes = randomBytes(100_000);
        const result = await storage.blobs.putIfAbsent('t/a/one.bin', chunks(bytes, 7_000));
        expect(result).toEqual({ created: true, size: bytes.length });
        expect(await storage.blobs.head('t/a/one.bin')).toEqual({
          key: 't/a/one.bin',
          size: bytes.length,
        });
        const { info, body } = await storage.blobs.get('t/a/one.bin');
        expect(info.size).toBe(bytes.length);
        expect(await collect(body)).toEqual(bytes);
      });

      it('keeps the first content when the same key is written again, and says so', async () => {
        const first = Buffer.from('first');
        await storage.blobs.putIfAbsent('t/again.txt', chunks(first));
        const second = await storage.blobs.putIfAbsent(
          't/again.txt',
          chunks(Buffer.from('second!')),
        );
        expect(second).toEqual({ created: false, size: 7 });
        expect(await collect((await storage.blobs.get('t/again.txt')).body)).toEqual(first);
      });

      it('stores an empty blob', async () => {
        expect(await storage.blobs.putIfAbsent('t/empty', chunks(Buffer.alloc(0)))).toEqual({
          created: true,
          size: 0,
        });
        expect(await storage.blobs.head('t/empty')).toEqual({ key: 't/empty', size: 0 });
      });

      it('round-trips a body larger than one upload block', async () => {
        const bytes = randomBytes(11 * 1024 * 1024 + 123);
        const result = await storage.blobs.putIfAbsent('t/large.bin', chunks(bytes, 64 * 1024));
        expect(result).toEqual({ created: true, size: bytes.length });
        const back = await collect((await storage.blobs.get('t/large.bin')).body);
        expect(sha256(back)).toBe(sha256(bytes));
      });

      it('reads a blob from a byte on, with the whole size in its info', async () => {
        const bytes = randomBytes(3 * 1024 * 1024 + 7);
        await storage.blobs.putIfAbsent('t/ranged.bin', bytes);
        for (const start of [0, 1, 1024 * 1024 + 3, bytes.length - 1, bytes.length]) {
          const { info, body } = await storage.blobs.get('t/ranged.bin', { start });
          expect(info.size).toBe(bytes.length);
          expect(sha256(await collect(body))).toBe(sha256(bytes.subarray(start)));
        }
        await storage.blobs.putIfAbsent('t/ranged-empty.bin', new Uint8Array(0));
        const empty = await storage.blobs.get('t/ranged-empty.bin', { start: 0 });
        expect(await collect(empty.body)).toHaveLength(0);
      });

      it.each([
        ['a small body', 10_000],
        ['a body of several blocks', 9 * 1024 * 1024],
      ])('stores nothing when the source of %s fails before its end', async (_label, size) => {
        const failing = failingAfter(
          randomBytes(size),
          new ValidationError('bad_content', 'content rejected'),
        );
        await expect(storage.blobs.putIfAbsent(`t/failed-${size}`, failing)).rejects.toThrow(
          'content rejected',
        );
        expect(await storage.blobs.head(`t/failed-${size}`)).toBeUndefined();
        // The key stays free for a later, valid write.
        expect(
          (await storage.blobs.putIfAbsent(`t/failed-${size}`, chunks(Buffer.from('ok')))).created,
        ).toBe(true);
      });

      describe('from bytes in memory', () => {
        it('stores them once and reads back the same bytes', async () => {
          const bytes = randomBytes(50_000);
          expect(await storage.blobs.putIfAbsent('m/a/one.bin', bytes)).toEqual({
            created: true,
            size: bytes.length,
          });
          expect(await collect((await storage.blobs.get('m/a/one.bin')).body)).toEqual(bytes);
        });

        it('keeps the first content when the same key is written again, and says so', async () => {
          await storage.blobs.putIfAbsent('m/again.txt', Buffer.from('first'));
          expect(await storage.blobs.putIfAbsent('m/again.txt', Buffer.from('second!'))).toEqual({
            created: false,
            size: 7,
          });
          expect(await collect((await storage.blobs.get('m/again.txt')).body)).toEqual(
            Buffer.from('first'),
          );
        });

        it('stores an empty blob, in a new folder', async () => {
          expect(await storage.blobs.putIfAbsent('m/new/folder/empty', new Uint8Array(0))).toEqual({
            created: true,
            size: 0,
          });
          expect(await storage.blobs.head('m/new/folder/empty')).toEqual({
            key: 'm/new/folder/empty',
            size: 0,
          });
        });

        it('lets exactly one of several concurrent writers of one key create it', async () => {
          const results = await Promise.all(
            [1, 2, 3, 4].map(() => storage.blobs.putIfAbsent('m/race', Buffer.from('same'))),
          );
          expect(results.filter((r) => r.created)).toHaveLength(1);
        });
      });

      it('stores a file whole, and keeps the first content of a key', async () => {
        const dir = await mkdtemp(join(tmpdir(), 'nexus-conformance-'));
        const bytes = randomBytes(300_000);
        await writeFile(join(dir, 'a.bin'), bytes);
        await writeFile(join(dir, 'b.bin'), 'other');
        expect(await storage.blobs.putIfAbsent('f/a.bin', { file: join(dir, 'a.bin') })).toEqual({
          created: true,
          size: bytes.length,
        });
        expect(
          (await storage.blobs.putIfAbsent('f/a.bin', { file: join(dir, 'b.bin') })).created,
        ).toBe(false);
        expect(await collect((await storage.blobs.get('f/a.bin')).body)).toEqual(bytes);
        await expect(
          storage.blobs.putIfAbsent('f/missing', { file: join(dir, 'missing.bin') }),
        ).rejects.toThrow(/ENOENT|no such file/);
        expect(await storage.blobs.head('f/missing')).toBeUndefined();
      });

      it('lets exactly one of several concurrent writers of one key create it', async () => {
        const results = await Promise.all(
          [1, 2, 3, 4].map(() =>
            storage.blobs.putIfAbsent('t/race', chunks(Buffer.from('same bytes'))),
          ),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
      });

      it('lists exactly the blobs under a prefix', async () => {
        for (const key of ['l/x/1', 'l/x/2', 'l/x/sub/3', 'l/xy/4', 'l/y/5']) {
          await storage.blobs.putIfAbsent(key, chunks(Buffer.from(key)));
        }
        const keys: string[] = [];
        for await (const info of storage.blobs.list('l/x/')) keys.push(info.key);
        expect(keys.sort()).toEqual(['l/x/1', 'l/x/2', 'l/x/sub/3']);
      });

      it('reports missing blobs as absent or not found, and deletes idempotently', async () => {
        expect(await storage.blobs.head('t/missing')).toBeUndefined();
        await expect(storage.blobs.get('t/missing')).rejects.toBeInstanceOf(NotFoundError);
        await storage.blobs.putIfAbsent('t/doomed', chunks(Buffer.from('x')));
        await storage.blobs.delete('t/doomed');
        await storage.blobs.delete('t/doomed');
        expect(await storage.blobs.head('t/doomed')).toBeUndefined();
      });

      it.each([
        '../escape',
        't/../../etc/passwd',
        '/abs',
        't//double',
        't/back\\slash',
        't/.hidden/..',
      ])('refuses the unsafe key %j', async (key) => {
        await expect(
          storage.blobs.putIfAbsent(key, chunks(Buffer.from('x'))),
        ).rejects.toBeInstanceOf(ValidationError);
      });
    });

    describe('tables', () => {
      const entity = (
        rowKey: string,
        properties: Record<string, string | number | boolean> = {},
      ) => ({
        partitionKey: 'p1',
        rowKey,
        properties,
      });

      it('inserts a row once and reads it back with its types', async () => {
        const properties = {
          text: 'héllo',
          big: 5_000_000_123,
          fraction: 0.0127635,
          yes: true,
          zero: 0,
        };
        const etag = await storage.tables.insert('agents', entity('typed', properties));
        const row = await storage.tables.get('agents', 'p1', 'typed');
        expect(row).toEqual({ partitionKey: 'p1', rowKey: 'typed', etag, properties });
        await expect(storage.tables.insert('agents', entity('typed'))).rejects.toBeInstanceOf(
          AlreadyExistsError,
        );
      });

      it('writes rows of one partition in several tables together', async () => {
        await storage.tables.insert('agents', entity('tx-kept', { n: 0 }));
        expect(
          await storage.tables.transact([
            { op: 'insert', table: 'webhookQueue', entity: entity('tx-1') },
            { op: 'insert', table: 'agents', entity: entity('tx-2', { n: 2 }) },
            { op: 'upsert', table: 'agents', entity: entity('tx-kept', { n: 1 }) },
          ]),
        ).toHaveLength(3);
        expect((await storage.tables.get('webhookQueue', 'p1', 'tx-1'))?.rowKey).toBe('tx-1');
        expect((await storage.tables.get('agents', 'p1', 'tx-2'))?.properties).toEqual({ n: 2 });
        expect((await storage.tables.get('agents', 'p1', 'tx-kept'))?.properties).toEqual({ n: 1 });
      });

      it('writes nothing of a transaction when one of its inserts finds its row', async () => {
        await storage.tables.insert('sessions', entity('tx-exists', { n: 0 }));
        expect(
          await storage.tables.transact([
            { op: 'insert', table: 'generations', entity: entity('tx-a') },
            { op: 'upsert', table: 'agents', entity: entity('tx-b') },
            { op: 'insert', table: 'sessions', entity: entity('tx-exists', { n: 1 }) },
          ]),
        ).toBe(false);
        expect(await storage.tables.get('generations', 'p1', 'tx-a')).toBeUndefined();
        expect(await storage.tables.get('agents', 'p1', 'tx-b')).toBeUndefined();
        expect((await storage.tables.get('sessions', 'p1', 'tx-exists'))?.properties).toEqual({
          n: 0,
        });
      });

      it('writes nothing of a transaction when a row it updates changed or is gone', async () => {
        const etag = await storage.tables.insert('sessions', entity('tx-versioned', { n: 1 }));
        const newer = await storage.tables.update(
          'sessions',
          entity('tx-versioned', { n: 2 }),
          etag,
        );
        const attempt = (tag: string) =>
          storage.tables.transact([
            { op: 'insert', table: 'generations', entity: entity('tx-with-update') },
            {
              op: 'update',
              table: 'sessions',
              entity: entity('tx-versioned', { n: 3 }),
              etag: tag,
            },
          ]);
        expect(await attempt(etag)).toBe(false);
        expect(await storage.tables.get('generations', 'p1', 'tx-with-update')).toBeUndefined();
        expect((await storage.tables.get('sessions', 'p1', 'tx-versioned'))?.properties).toEqual({
          n: 2,
        });
        expect(await attempt(newer)).toHaveLength(2);
        expect((await storage.tables.get('sessions', 'p1', 'tx-versioned'))?.properties).toEqual({
          n: 3,
        });
        await storage.tables.delete('sessions', 'p1', 'tx-versioned');
        await storage.tables.delete('generations', 'p1', 'tx-with-update');
        expect(await attempt(newer)).toBe(false);
        expect(await storage.tables.get('generations', 'p1', 'tx-with-update')).toBeUndefined();
      });

      it("returns each write's new ETag, which the next conditional write takes", async () => {
        const first = await storage.tables.insert('sessions', entity('tx-etags', { n: 1 }));
        const written = await storage.tables.transact([
          { op: 'insert', table: 'generations', entity: entity('tx-etag-new') },
          { op: 'update', table: 'sessions', entity: entity('tx-etags', { n: 2 }), etag: first },
          { op: 'upsert', table: 'agents', entity: entity('tx-etag-up') },
        ]);
        if (written === false) throw new Error('the transaction was refused');
        const [inserted, updated, upserted] = written;
        expect(inserted).toBe((await storage.tables.get('generations', 'p1', 'tx-etag-new'))?.etag);
        expect(updated).toBe((await storage.tables.get('sessions', 'p1', 'tx-etags'))?.etag);
        expect(upserted).toBe((await storage.tables.get('agents', 'p1', 'tx-etag-up'))?.etag);
        expect(updated).not.toBe(first);
        const again = await storage.tables.transact([
          {
            op: 'update',
            table: 'sessions',
            entity: entity('tx-etags', { n: 3 }),
            etag: updated ?? '',
          },
        ]);
        expect(again).toHaveLength(1);
        expect((await storage.tables.get('sessions', 'p1', 'tx-etags'))?.properties).toEqual({
          n: 3,
        });
      });

      it('deletes rows in a transaction, and writes nothing when one is gone or changed', async () => {
        const etag = await storage.tables.insert('webhookQueue', entity('tx-del-old'));
        await storage.tables.insert('webhookQueue', entity('tx-del-any'));
        const move = (tag?: string) =>
          storage.tables.transact([
            { op: 'insert', table: 'webhookQueue', entity: entity('tx-del-new') },
            {
              op: 'delete',
              table: 'webhookQueue',
              key: { partitionKey: 'p1', rowKey: 'tx-del-old' },
              ...(tag === undefined ? {} : { etag: tag }),
            },
          ]);
        // A stale ETag: nothing written, nothing removed.
        expect(await move('W/"datetime\'2000-01-01T00%3A00%3A00Z\'"')).toBe(false);
        expect(await storage.tables.get('webhookQueue', 'p1', 'tx-del-new')).toBeUndefined();
        expect(await storage.tables.get('webhookQueue', 'p1', 'tx-del-old')).toBeDefined();
        expect(await move(etag)).toEqual([expect.any(String), '']);
        expect(await storage.tables.get('webhookQueue', 'p1', 'tx-del-old')).toBeUndefined();
        expect(await storage.tables.get('webhookQueue', 'p1', 'tx-del-new')).toBeDefined();
        // Without an ETag, whatever the row is now; a row that is gone fails the whole.
        expect(
          await storage.tables.transact([
            {
              op: 'delete',
              table: 'webhookQueue',
              key: { partitionKey: 'p1', rowKey: 'tx-del-any' },
            },
          ]),
        ).toEqual(['']);
        expect(await storage.tables.get('webhookQueue', 'p1', 'tx-del-any')).toBeUndefined();
        await storage.tables.delete('webhookQueue', 'p1', 'tx-del-new');
        expect(await move()).toBe(false);
        expect(await storage.tables.get('webhookQueue', 'p1', 'tx-del-new')).toBeUndefined();
      });

      it('refuses a transaction Azure would refuse, before writing anything', async () => {
        const other = { partitionKey: 'p2', rowKey: 'tx-other', properties: {} };
        await expect(
          storage.tables.transact([
            { op: 'insert', table: 'agents', entity: entity('tx-one') },
            { op: 'insert', table: 'agents', entity: other },
          ]),
        ).rejects.toThrow(/one partition key/);
        await expect(
          storage.tables.transact([
            { op: 'insert', table: 'agents', entity: entity('tx-twice') },
            { op: 'upsert', table: 'agents', entity: entity('tx-twice') },
          ]),
        ).rejects.toThrow(/twice/);
        await expect(
          storage.tables.transact([
            { op: 'insert', table: 'agents', entity: entity('tx-twice') },
            { op: 'delete', table: 'agents', key: { partitionKey: 'p1', rowKey: 'tx-twice' } },
          ]),
        ).rejects.toThrow(/twice/);
        const many = Array.from({ length: 101 }, (_, i) => ({
          op: 'insert' as const,
          table: 'agents',
          entity: entity(`tx-many-${i}`),
        }));
        await expect(storage.tables.transact(many)).rejects.toThrow(/1 to 100 writes/);
        await expect(storage.tables.transact([])).rejects.toThrow(/1 to 100 writes/);
        expect(await storage.tables.get('agents', 'p1', 'tx-one')).toBeUndefined();
        expect(await storage.tables.get('agents', 'p1', 'tx-twice')).toBeUndefined();
        expect(await storage.tables.get('agents', 'p1', 'tx-many-0')).toBeUndefined();
      });

      it('updates only while the ETag matches', async () => {
        const etag = await storage.tables.insert('agents', entity('versioned', { n: 1 }));
        const next = await storage.tables.update('agents', entity('versioned', { n: 2 }), etag);
        expect(next).not.toBe(etag);
        await expect(
          storage.tables.update('agents', entity('versioned', { n: 3 }), etag),
        ).rejects.toBeInstanceOf(PreconditionFailedError);
        expect((await storage.tables.get('agents', 'p1', 'versioned'))?.properties).toEqual({
          n: 2,
        });
        await expect(
          storage.tables.update('agents', entity('never-inserted'), next),
        ).rejects.toBeInstanceOf(NotFoundError);
      });

      it('lets exactly one of two concurrent conditional updates win', async () => {
        const etag = await storage.tables.insert('agents', entity('contended', { n: 0 }));
        const outcomes = await Promise.allSettled([
          storage.tables.update('agents', entity('contended', { n: 1 }), etag),
          storage.tables.update('agents', entity('contended', { n: 2 }), etag),
        ]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const rejected = outcomes.find((o) => o.status === 'rejected');
        expect(rejected?.status === 'rejected' && rejected.reason).toBeInstanceOf(
          PreconditionFailedError,
        );
      });

      it('upserts: creates, then replaces every property', async () => {
        await storage.tables.upsert('agents', entity('up', { a: 1, b: 'x' }));
        await storage.tables.upsert('agents', entity('up', { c: false }));
        expect((await storage.tables.get('agents', 'p1', 'up'))?.properties).toEqual({ c: false });
      });

      it('deletes conditionally and idempotently', async () => {
        const etag = await storage.tables.insert('agents', entity('gone', { n: 1 }));
        const newer = await storage.tables.update('agents', entity('gone', { n: 2 }), etag);
        await expect(storage.tables.delete('agents', 'p1', 'gone', etag)).rejects.toBeInstanceOf(
          PreconditionFailedError,
        );
        await storage.tables.delete('agents', 'p1', 'gone', newer);
        expect(await storage.tables.get('agents', 'p1', 'gone')).toBeUndefined();
        await storage.tables.delete('agents', 'p1', 'gone');
      });

      it('queries one partition by row-key range, in order, page by page', async () => {
        for (let i = 0; i < 25; i += 1) {
          await storage.tables.insert('sessions', {
            partitionKey: 'q',
            rowKey: `k${String(i).padStart(2, '0')}`,
            properties: { i },
          });
        }
        await storage.tables.insert('sessions', {
          partitionKey: 'q-other',
          rowKey: 'k05',
          properties: {},
        });
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await storage.tables.query('sessions', 'q', {
            rowKeyFrom: 'k03',
            rowKeyTo: 'k21',
            limit: 5,
            ...(cursor === undefined ? {} : { cursor }),
          });
          expect(page.items.length).toBeLessThanOrEqual(5);
          seen.push(...page.items.map((item) => item.rowKey));
          cursor = page.cursor;
          pages += 1;
        } while (cursor !== undefined && pages < 20);
        const expected = Array.from({ length: 18 }, (_, n) => `k${String(n + 3).padStart(2, '0')}`);
        expect(seen).toEqual(expected);
        expect(pages).toBeGreaterThanOrEqual(4);
      });

      it('keeps tables apart within a partition, whatever their row keys', async () => {
        // Keys around the characters the Azure layout puts between a table's name and a row key.
        const keys = ['a', 'z|', 'z}', '~tilde', 'é', '\u{1F600}'];
        for (const key of keys) {
          await storage.tables.insert('endpoints', {
            partitionKey: 'apart',
            rowKey: key,
            properties: {},
          });
          await storage.tables.insert('webhooks', {
            partitionKey: 'apart',
            rowKey: key,
            properties: { w: 1 },
          });
        }
        await storage.tables.insert('webhookExpiry', {
          partitionKey: 'apart',
          rowKey: 'only-here',
          properties: {},
        });
        const page = await storage.tables.query('endpoints', 'apart');
        expect(page.items.map((row) => row.rowKey)).toEqual([...keys].sort());
        expect(page.items.every((row) => Object.keys(row.properties).length === 0)).toBe(true);
        const ranged = await storage.tables.query('webhooks', 'apart', {
          rowKeyFrom: 'z|',
          rowKeyTo: 'é',
        });
        expect(ranged.items.map((row) => row.rowKey)).toEqual(['z|', 'z}', '~tilde']);
        expect((await storage.tables.query('webhookExpiry', 'apart')).items).toHaveLength(1);
        expect(await storage.tables.get('endpoints', 'apart', 'only-here')).toBeUndefined();
        await storage.tables.delete('endpoints', 'apart', 'a');
        expect(await storage.tables.get('webhooks', 'apart', 'a')).toBeDefined();
      });

      it('refuses rows Azure would refuse, with a clear error', async () => {
        await expect(
          storage.tables.insert('agents', entity('huge', { s: 'x'.repeat(40_000) })),
        ).rejects.toThrow(/at most 32768/);
        const many = Object.fromEntries(Array.from({ length: 253 }, (_, i) => [`p${i}`, i]));
        await expect(storage.tables.insert('agents', entity('wide', many))).rejects.toThrow(
          /252 properties/,
        );
        await expect(storage.tables.insert('agents', entity('a/b'))).rejects.toBeInstanceOf(
          ValidationError,
        );
        await expect(storage.tables.insert('agents', entity('q?x'))).rejects.toBeInstanceOf(
          ValidationError,
        );
        expect(await storage.tables.get('agents', 'p1', 'huge')).toBeUndefined();
      });
    });

    it('answers its health check', async () => {
      await expect(storage.check()).resolves.toBeUndefined();
    });
  });
}

async function* chunks(bytes: Uint8Array, size = 65_536): ByteSource {
  for (let offset = 0; offset < bytes.length; offset += size) {
    await Promise.resolve();
    yield bytes.subarray(offset, offset + size);
  }
}

async function* failingAfter(bytes: Uint8Array, error: Error): ByteSource {
  yield* chunks(bytes);
  throw error;
}

async function collect(body: ByteSource): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
