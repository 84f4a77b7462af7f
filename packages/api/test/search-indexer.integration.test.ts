import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { expect, it } from 'vitest';
import type { Storage } from '@nexus/core';
import { putTranscript, testApp } from '../src/testing/api-harness.ts';
import { openEmbeddedStorage } from '../src/storage/embedded/open-embedded-storage.ts';
import { SearchIndexer } from '../src/search/search-indexer.ts';
import { SqliteSearchIndex } from '../src/search/sqlite-search-index.ts';

it('a rebuild while a generation is half indexed still ends with all of its messages', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nexus-indexer-'));
  const storage = await openEmbeddedStorage(join(dir, 'data'));
  // The indexer's clock stands still: after its first batch it waits for quiet uploads, so the
  // rebuild lands between two batches of the same generation.
  let clockMs = 0;
  const index = new SqliteSearchIndex(join(dir, 'search.sqlite'));
  const indexer = new SearchIndexer({
    storage,
    index,
    queue: index,
    logger: pino({ level: 'silent' }),
    nowMs: () => clockMs,
  });
  try {
    indexer.start();
    const app = testApp(storage, { search: indexer });
    const lines = [JSON.stringify({ type: 'session', id: 's-big', version: 3 })];
    for (let i = 0; i < 450; i += 1)
      lines.push(
        JSON.stringify({
          type: 'message',
          id: `m${i}`,
          timestamp: '2026-11-01T08:00:00Z',
          message: { role: 'user', content: `message number ${i}` },
        }),
      );
    const text = `${lines.join('\n')}\n`;
    expect((await putTranscript(app, text, text, { sessionId: 's-big' })).status).toBe(201);
    while (index.stats().messages === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // A first batch is in; the rest waits.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(index.stats().messages).toBeGreaterThan(0);
    expect(index.stats().messages).toBeLessThan(450);
    await indexer.requestRebuild();
    clockMs = 1e12;
    await indexer.idle();
    expect(index.stats().messages).toBe(450);
  } finally {
    await indexer.close();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it('waits before listing storage again when a rebuild could not list it, then finishes it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nexus-indexer-'));
  const storage = await openEmbeddedStorage(join(dir, 'data'));
  let clockMs = 0;
  let failing = true;
  let listings = 0;
  // Storage whose list of agents cannot be read while `failing`.
  const flaky: Storage = {
    ...storage,
    tables: {
      ...storage.tables,
      query: (table, partition, options) => {
        if (table === 'agents') {
          listings += 1;
          if (failing) return Promise.reject(new Error('storage unreachable'));
        }
        return storage.tables.query(table, partition, options);
      },
      get: storage.tables.get.bind(storage.tables),
    },
    close: () => storage.close(),
  };
  const index = new SqliteSearchIndex(join(dir, 'search.sqlite'));
  const indexer = new SearchIndexer({
    storage: flaky,
    index,
    queue: index,
    logger: pino({ level: 'silent' }),
    nowMs: () => clockMs,
  });
  try {
    const text = `${JSON.stringify({ type: 'session', id: 's1', version: 3 })}\n${JSON.stringify({
      type: 'message',
      id: 'm1',
      timestamp: '2026-11-01T08:00:00Z',
      message: { role: 'user', content: 'hello again' },
    })}\n`;
    const app = testApp(storage);
    expect((await putTranscript(app, text, text, { sessionId: 's1' })).status).toBe(201);
    indexer.start(); // a fresh index: its build is asked for, and its listing fails
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Without the wait, the loop lists again at once, hundreds of times in 300 ms.
    expect(listings).toBe(1);
    failing = false;
    clockMs = 60_000;
    // Anything queued wakes the loop (here a generation that was never stored).
    (
      await indexer.enqueue({
        hostId: 'default',
        agentId: 'main',
        sessionId: 'ghost',
        sha256: 'f'.repeat(64),
        fromByte: 0,
        fromLine: 0,
      })
    )();
    await indexer.idle();
    expect(listings).toBe(2);
    expect((await indexer.status()).messages).toBe(1);
  } finally {
    await indexer.close();
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
});
