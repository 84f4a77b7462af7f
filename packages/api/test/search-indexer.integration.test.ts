import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { expect, it } from 'vitest';
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
