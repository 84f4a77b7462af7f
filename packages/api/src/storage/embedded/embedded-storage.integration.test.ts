import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeStorageConformance } from '../storage-conformance.ts';
import { openEmbeddedStorage } from './open-embedded-storage.ts';

describeStorageConformance('embedded', async () =>
  openEmbeddedStorage(await mkdtemp(join(tmpdir(), 'nexus-embedded-'))),
);

describe('the embedded table store', () => {
  it('commits the writes of a pending batch when closed, and keeps them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-embedded-close-'));
    const storage = await openEmbeddedStorage(dir);
    const writes = Array.from({ length: 5 }, (_, n) =>
      storage.tables.insert('agents', { partitionKey: 'p', rowKey: `r${n}`, properties: { n } }),
    );
    // Closed in the same turn: the batch's COMMIT has not run yet.
    await storage.close();
    await Promise.allSettled(writes);
    await new Promise((resolve) => setImmediate(resolve)); // the batch's own commit turn passes
    const reopened = await openEmbeddedStorage(dir);
    const rows = await reopened.tables.query('agents', 'p');
    expect(rows.items.map((row) => row.properties['n'])).toEqual([0, 1, 2, 3, 4]);
    await reopened.close();
  });
});
