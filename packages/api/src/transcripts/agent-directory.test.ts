import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnavailableError, type Entity, type Storage } from '@nexus/core';
import { openEmbeddedStorage } from '../storage/embedded/open-embedded-storage.ts';
import { AgentDirectory } from './agent-directory.ts';
import { HOSTS_PARTITION } from '../hosts/host-rows.ts';
import { AGENTS_PARTITION } from './keys.ts';

const MAIN = { hostId: 'laptop', agentId: 'main' };
const OTHER = { hostId: 'laptop', agentId: 'other' };
/** The same agent id on another machine: an agent of its own. */
const SERVER_MAIN = { hostId: 'server', agentId: 'main' };

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
          inserted.push(`${table}:${entity.rowKey}`);
          return insert(table, entity);
        },
      }),
    };
  });
  afterEach(async () => {
    await storage.close();
  });

  it('writes an agent and its host once however many uploads ask, and keeps its first time', async () => {
    const directory = new AgentDirectory(storage);
    await Promise.all([
      directory.ensure(MAIN, 't1'),
      directory.ensure(MAIN, 't2'),
      directory.ensure(OTHER, 't3'),
      directory.ensure(SERVER_MAIN, 't5'),
    ]);
    await directory.ensure(MAIN, 't4');
    expect(inserted.filter((row) => row.startsWith('agents:')).sort()).toEqual([
      'agents:laptop~main',
      'agents:laptop~other',
      'agents:server~main',
    ]);
    expect(
      (await storage.tables.get('agents', AGENTS_PARTITION, 'laptop~main'))?.properties,
    ).toEqual({ firstReceivedAt: 't1' });
    expect((await storage.tables.get('hosts', HOSTS_PARTITION, 'laptop'))?.properties).toEqual({
      firstSeenAt: 't1',
    });
    expect(await storage.tables.get('hosts', HOSTS_PARTITION, 'server')).toBeDefined();
  });

  it('leaves a row another process wrote as it is', async () => {
    await new AgentDirectory(storage).ensure(MAIN, 't1');
    await new AgentDirectory(storage).ensure(MAIN, 't2');
    expect(
      (await storage.tables.get('agents', AGENTS_PARTITION, 'laptop~main'))?.properties,
    ).toEqual({ firstReceivedAt: 't1' });
  });

  it('does not remember an agent whose write failed', async () => {
    const directory = new AgentDirectory(storage);
    failNext = true;
    await expect(directory.ensure(MAIN, 't1')).rejects.toBeInstanceOf(UnavailableError);
    await directory.ensure(MAIN, 't2');
    expect(inserted.filter((row) => row.startsWith('agents:'))).toEqual(['agents:laptop~main']);
    expect(await storage.tables.get('agents', AGENTS_PARTITION, 'laptop~main')).toBeDefined();
  });
});
