import { copyFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeStorageConformance } from '../../testing/storage-conformance.ts';
import { EmbeddedTableStore } from './embedded-table-store.ts';
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

  /** Writes `batches` turns of 50 rows of 7 KB each (about 350 KB of WAL per turn). */
  async function fill(store: EmbeddedTableStore, batches: number, tag: string): Promise<void> {
    const big = 'x'.repeat(7000);
    for (let b = 0; b < batches; b += 1) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.insert('t', { partitionKey: tag, rowKey: `${b}-${i}`, properties: { big } }),
        ),
      );
    }
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('copies the whole WAL into the database after the last commit, on its own thread', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-embedded-wal-'));
    const path = join(dir, 'tables.sqlite');
    const store = new EmbeddedTableStore(path);
    await fill(store, 30, 'a'); // 10 MB through the WAL
    for (let n = 0; n < 10; n += 1)
      await store.insert('t', { partitionKey: 'z', rowKey: String(n), properties: {} });
    // No commit from here on, so none can checkpoint: the thread's last pass must copy all of it.
    // SQLite's own checkpoints run inside commits, only past 4 MB of WAL, and would leave these
    // last small rows in the WAL. What a copy of the database file alone holds is checkpointed.
    const checkpointed = (): number => {
      try {
        copyFileSync(path, join(dir, 'copy.sqlite'));
        const copy = new DatabaseSync(join(dir, 'copy.sqlite'), { readOnly: true });
        const row = copy.prepare("SELECT count(*) AS n FROM entities WHERE pk = 'z'").get();
        copy.close();
        return Number(row?.['n'] ?? 0);
      } catch {
        return 0; // copied in the middle of a checkpoint: look again
      }
    };
    await until(() => checkpointed() === 10, 'the last rows were in the database file');
    store.close();
  });

  it('starts the WAL over once it is checkpointed, also after writes without a pause', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'nexus-embedded-wal-')), 'tables.sqlite');
    const store = new EmbeddedTableStore(path);
    await fill(store, 300, 'b'); // about 100 MB through the WAL without a pause
    const written = statSync(path).size + statSync(`${path}-wal`).size;
    expect(written).toBeGreaterThan(100 * 1024 * 1024);
    // Once the thread has caught up, the next commit starts the WAL over and trims it to 16 MB.
    // Each probe is awaited before closing: one still syncing when the store closes would fail.
    const probes: Promise<string>[] = [];
    await until(() => {
      probes.push(
        store.insert('t', { partitionKey: 'c', rowKey: String(probes.length), properties: {} }),
      );
      return statSync(`${path}-wal`).size <= 16 * 1024 * 1024;
    }, 'the WAL was started over');
    await Promise.all(probes);
    store.close();
  });
});

describe('the embedded data folder', () => {
  it('is readable by its owner only, its database files too, whatever the umask', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'nexus-embedded-mode-'));
    const dataDir = join(parent, 'nexus', 'data');
    const previous = process.umask(0o022); // the common default: files 644, folders 755
    try {
      const storage = await openEmbeddedStorage(dataDir);
      await storage.tables.insert('agents', { partitionKey: 'p', rowKey: 'r', properties: {} });
      const mode = (path: string) => statSync(path).mode & 0o777;
      expect(mode(dataDir)).toBe(0o700);
      expect(mode(join(parent, 'nexus'))).toBe(0o700);
      expect(mode(join(dataDir, 'tables.sqlite'))).toBe(0o600);
      expect(mode(join(dataDir, 'tables.sqlite-wal'))).toBe(0o600);
      await storage.close();
    } finally {
      process.umask(previous);
    }
  });
});
