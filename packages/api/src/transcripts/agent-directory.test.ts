import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnavailableError, type Entity, type Storage } from '@nexus/core';
import { openEmbeddedStorage } from '../storage/embedded/open-embedded-storage.ts';
import { AgentDirectory } from './agent-directory.ts';
import { AGENTS_PARTITION } from './keys.ts';

describe('AgentDirectory', () => {
  let storage: Storage;
  /** Agent rows that reached the real (embedded) store, and a switch to fail the next insert. */
  let inserted: string[];
  let failNext: boolean;

  beforeEach(async () => {
    const real = await openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-agents-')));
    inserted = [];
    failNext = false;
    const insert = real.tables.insert.bind(real.tables);
    const tables = Object.create(real.tables) as Storage['tables'];
    storage = {
      ...real,
      tables: Object.assign(tables, {
        insert: async (table: string, entity: Entity) => {
          if (failNext) {
            failNext = false;
            throw new UnavailableError('storage is down');
          }
          inserted.push(entity.rowKey);
          return insert(table, entity);
        },
      }),
    };
  });
  afterEach(async () => {
    await storage.close();
  });

  it('writes an agent once however many uploads ask, and keeps its first time', async () => {
    const directory = new AgentDirectory(storage);
    await Promise.all([
      directory.ensure('main', 't1'),
      directory.ensure('main', 't2'),
      directory.ensure('other', 't3'),
    ]);
    await directory.ensure('main', 't4');
    expect(inserted.sort()).toEqual(['main', 'other']);
    expect((await storage.tables.get('agents', AGENTS_PARTITION, 'main'))?.properties).toEqual({
      firstReceivedAt: 't1',
    });
  });

  it('leaves a row another process wrote as it is', async () => {
    await new AgentDirectory(storage).ensure('main', 't1');
    await new AgentDirectory(storage).ensure('main', 't2');
    expect((await storage.tables.get('agents', AGENTS_PARTITION, 'main'))?.properties).toEqual({
      firstReceivedAt: 't1',
    });
  });

  it('does not remember an agent whose write failed', async () => {
    const directory = new AgentDirectory(storage);
    failNext = true;
    await expect(directory.ensure('main', 't1')).rejects.toBeInstanceOf(UnavailableError);
    await directory.ensure('main', 't2');
    expect(inserted).toEqual(['main']);
    expect(await storage.tables.get('agents', AGENTS_PARTITION, 'main')).toBeDefined();
  });
});
