import { randomBytes } from 'node:crypto';
import {
  AzureNamedKeyCredential,
  TableClient,
  TableServiceClient,
  generateAccountSas,
} from '@azure/data-tables';
import { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { buildTranscript } from '@nexus/core/testing';
import { describe, expect, inject, it } from 'vitest';
import { API_KEY, get, putTranscript, sha256, testApp } from '../../testing/api-harness.ts';
import { describeStorageConformance } from '../../testing/storage-conformance.ts';
import { AzureTableStore } from './azure-table-store.ts';
import { openAzureStorage } from './open-azure-storage.ts';

describeStorageConformance('azure (Azurite)', () =>
  openAzureStorage({
    connectionString: inject('azuriteConnectionString'),
    container: `conformance-${randomBytes(4).toString('hex')}`,
    tablePrefix: `c${randomBytes(4).toString('hex')}`,
  }),
);

describe('azure storage: the old per-table layout', () => {
  const connectionString = inject('azuriteConnectionString');
  const options = { allowInsecureConnection: true };
  const legacy = async (prefix: string, table: string) => {
    await TableServiceClient.fromConnectionString(connectionString, options).createTable(
      `${prefix}${table}`,
    );
    return TableClient.fromConnectionString(connectionString, `${prefix}${table}`, options);
  };
  const double = (n: number) => ({ value: String(n), type: 'Double' as const });

  it('is copied once into the one table, keeping rows written there since', async () => {
    const prefix = `m${randomBytes(4).toString('hex')}`;
    const sessions = await legacy(prefix, 'sessions');
    await sessions.createEntity({ partitionKey: 'a1', rowKey: 's1', n: double(1), text: 'old' });
    await sessions.createEntity({ partitionKey: 'a1', rowKey: 's2', n: double(5_000_000_123) });
    const webhooks = await legacy(prefix, 'webhooks');
    for (let i = 0; i < 150; i += 1) {
      await webhooks.createEntity({ partitionKey: 'a1', rowKey: `w${String(i).padStart(3, '0')}` });
    }
    const agents = await legacy(prefix, 'agents');
    await agents.createEntity({ partitionKey: 'agent', rowKey: 'a1', lastReceivedAt: 'then' });
    // A row the new layout has already (an instance that finished copying and served since).
    await TableServiceClient.fromConnectionString(connectionString, options).createTable(
      `${prefix}rows`,
    );
    await TableClient.fromConnectionString(connectionString, `${prefix}rows`, options).createEntity(
      { partitionKey: 'a1', rowKey: 'sessions|s2', n: double(2) },
    );

    const logged: string[] = [];
    const config = { connectionString, container: `m-${prefix}`, tablePrefix: prefix };
    const storage = await openAzureStorage(config, { log: (line) => logged.push(line) });
    expect((await storage.tables.get('sessions', 'a1', 's1'))?.properties).toEqual({
      n: 1,
      text: 'old',
    });
    expect((await storage.tables.get('sessions', 'a1', 's2'))?.properties).toEqual({ n: 2 });
    expect((await storage.tables.query('webhooks', 'a1')).items).toHaveLength(150);
    expect((await storage.tables.get('agents', 'agent', 'a1'))?.properties).toEqual({
      lastReceivedAt: 'then',
    });
    expect(logged.join('\n')).toMatch(
      new RegExp(`Copied 153 rows .*${prefix}agents, ${prefix}sessions, ${prefix}webhooks\\.`),
    );

    // Done once: a row added to an old table later is not copied, and nothing is logged.
    await sessions.createEntity({ partitionKey: 'a1', rowKey: 's3' });
    logged.length = 0;
    const again = await openAzureStorage(config, { log: (line) => logged.push(line) });
    expect(await again.tables.get('sessions', 'a1', 's3')).toBeUndefined();
    expect(logged).toEqual([]);
  });

  it('creates the table and the container again when they are deleted under a running API; an upload never answers 404', async () => {
    const prefix = `g${randomBytes(4).toString('hex')}`;
    const container = `g-${prefix}`;
    const storage = await openAzureStorage({ connectionString, container, tablePrefix: prefix });
    const app = testApp(storage);
    const first = buildTranscript({ sessionId: 's1', turns: 2 });
    expect((await putTranscript(app, first.text, first.text, { sessionId: 's1' })).status).toBe(
      201,
    );

    const dropAll = async () => {
      await TableServiceClient.fromConnectionString(connectionString, options).deleteTable(
        `${prefix}rows`,
      );
      await BlobServiceClient.fromConnectionString(connectionString).deleteContainer(container);
    };
    await dropAll();
    const second = buildTranscript({ sessionId: 's2', turns: 2 });
    const small = await putTranscript(app, second.text, second.text, { sessionId: 's2' });
    expect(small.status).toBe(201);
    expect((await get(app, '/v1/agents/main/sessions/s2')).status).toBe(200);

    // A large body is a stream that cannot be read twice: the container is made again and the
    // client told to retry (503 with Retry-After), which then succeeds.
    await dropAll();
    const large = buildTranscript({ sessionId: 's3', turns: 6000 });
    expect(large.text.length).toBeGreaterThan(4 * 1024 * 1024);
    const bigApp = testApp(storage, { maxTranscriptBytes: 64 * 1024 * 1024 });
    const streamed = () =>
      bigApp.request(
        `/v1/agents/main/sessions/s3/transcripts/${sha256(large.text)}?kind=live&fileName=s3.jsonl`,
        {
          method: 'PUT',
          body: Readable.toWeb(Readable.from([Buffer.from(large.text)])) as ReadableStream,
          headers: { authorization: `Bearer ${API_KEY}` },
          duplex: 'half',
        },
      );
    const refused = await streamed();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    const retried = await streamed();
    expect(retried.status).toBe(201);
    await storage.check();
  }, 60_000);

  it('is not needed on a new account: nothing to copy, nothing logged', async () => {
    const prefix = `n${randomBytes(4).toString('hex')}`;
    const logged: string[] = [];
    const storage = await openAzureStorage(
      { connectionString, container: `n-${prefix}`, tablePrefix: prefix },
      { log: (line) => logged.push(line) },
    );
    await storage.check();
    expect(logged).toEqual([]);
  });
});

describe('azure storage: entity-group transactions', () => {
  const connectionString = inject('azuriteConnectionString');
  const options = { allowInsecureConnection: true };

  it('writes, replaces and updates rows whose keys need quoting and escaping in the URL', async () => {
    const prefix = `k${randomBytes(4).toString('hex')}`;
    const { tables } = await openAzureStorage({
      connectionString,
      container: `k-${prefix}`,
      tablePrefix: prefix,
    });
    const partitionKey = "ag'ent %41 +&=,()é";
    const keys = ["it's", '100%25 done', 'a+b&c=d', '(x,y)', 'ünï 🦞', "''"];
    const rows = keys.map((rowKey, i) => ({
      partitionKey,
      rowKey,
      properties: { n: 5_000_000_123 + i, f: 0.25, ok: true, s: `v${String(i)}` },
    }));
    expect(
      await tables.transact(rows.map((entity) => ({ op: 'insert', table: 'sessions', entity }))),
    ).toHaveLength(keys.length);
    const stored = await Promise.all(keys.map((key) => tables.get('sessions', partitionKey, key)));
    expect(stored.map((row) => row?.properties)).toEqual(rows.map((row) => row.properties));
    // Replace and conditional update address each row by its key in the URL.
    const writes = stored.map((row, i) => {
      const entity = { partitionKey, rowKey: keys[i] ?? '', properties: { s: `w${String(i)}` } };
      return i % 2 === 0
        ? { op: 'upsert' as const, table: 'sessions', entity }
        : { op: 'update' as const, table: 'sessions', entity, etag: row?.etag ?? '' };
    });
    expect(await tables.transact(writes)).toHaveLength(keys.length);
    const after = await Promise.all(keys.map((key) => tables.get('sessions', partitionKey, key)));
    expect(after.map((row) => row?.properties['s'])).toEqual(keys.map((_, i) => `w${String(i)}`));
    // So does a delete, and an update's answer carries the ETag the service now holds.
    const [updated] = (await tables.transact([
      { op: 'update', table: 'sessions', entity: rows[0]!, etag: after[0]?.etag ?? '' },
      ...keys.slice(1).map((rowKey) => ({
        op: 'delete' as const,
        table: 'sessions',
        key: { partitionKey, rowKey },
      })),
    ])) || [undefined];
    expect(updated).toBe((await tables.get('sessions', partitionKey, keys[0] ?? ''))?.etag);
    const gone = await Promise.all(
      keys.slice(1).map((key) => tables.get('sessions', partitionKey, key)),
    );
    expect(gone.every((row) => row === undefined)).toBe(true);
  });

  it('sends transactions with a SAS in the connection string (it goes after $batch)', async () => {
    const table = `sas${randomBytes(4).toString('hex')}`;
    await TableServiceClient.fromConnectionString(connectionString, options).createTable(table);
    const account = /AccountName=([^;]+)/.exec(connectionString)?.[1] ?? '';
    const key = /AccountKey=([^;]+)/.exec(connectionString)?.[1] ?? '';
    const endpoint = /TableEndpoint=([^;]+)/.exec(connectionString)?.[1] ?? '';
    // An account SAS: Azurite, like the SDK's own transactions, refuses `$batch` with a table SAS.
    const sas = generateAccountSas(new AzureNamedKeyCredential(account, key), {
      permissions: { query: true, write: true, list: true, add: true, update: true, delete: true },
      resourceTypes: 'sco',
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const client = TableClient.fromConnectionString(
      `TableEndpoint=${endpoint};SharedAccessSignature=${sas}`,
      table,
      options,
    );
    const store = new AzureTableStore(client, { allowInsecureConnection: true });
    const entity = { partitionKey: 'p', rowKey: 'r', properties: { n: 1 } };
    expect(await store.transact([{ op: 'insert', table: 'sessions', entity }])).toHaveLength(1);
    expect(await store.transact([{ op: 'insert', table: 'sessions', entity }])).toBe(false);
    expect((await store.get('sessions', 'p', 'r'))?.properties).toEqual({ n: 1 });
  });
});
