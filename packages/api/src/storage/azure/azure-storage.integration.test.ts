import { randomBytes } from 'node:crypto';
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { describe, expect, inject, it } from 'vitest';
import { describeStorageConformance } from '../storage-conformance.ts';
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

  it('fails a transaction loudly when the table is gone, instead of answering "exists"', async () => {
    const prefix = `g${randomBytes(4).toString('hex')}`;
    const storage = await openAzureStorage({
      connectionString,
      container: `g-${prefix}`,
      tablePrefix: prefix,
    });
    await TableServiceClient.fromConnectionString(connectionString, options).deleteTable(
      `${prefix}rows`,
    );
    const row = { partitionKey: 'a1', rowKey: 'r1', properties: {} };
    await expect(
      storage.tables.transact([{ op: 'insert', table: 'sessions', entity: row }]),
    ).rejects.toThrow(/TableNotFound|not found/i);
    await expect(
      storage.tables.transact([{ op: 'update', table: 'sessions', entity: row, etag: '*' }]),
    ).rejects.toThrow(/TableNotFound|not found/i);
  });

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
