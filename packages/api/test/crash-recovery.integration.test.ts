import { createHash } from 'node:crypto';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTranscript } from '@nexus/core/testing';
import { fsck } from '../src/maintenance/fsck.ts';
import { openEmbeddedStorage } from '../src/storage/embedded/open-embedded-storage.ts';
import { spawnServer } from '../src/testing/spawn-server.ts';

const KEY = 'crash-test-key-0123456789';

interface Upload {
  readonly sessionId: string;
  readonly text: string;
  readonly sha: string;
}

function makeUploads(count: number): Upload[] {
  return Array.from({ length: count }, (_, i) => {
    const sessionId = `crash-${i}`;
    // Sizes from a few KB to ~3 MB, so kills land inside streaming writes too.
    const text = buildTranscript({
      sessionId,
      turns: 5 + (i % 4) * 40,
      toolEvery: 1,
      toolResultChars: i % 3 === 0 ? 4000 : 200,
    }).text;
    return { sessionId, text, sha: createHash('sha256').update(text).digest('hex') };
  });
}

async function upload(url: string, item: Upload): Promise<number> {
  const response = await fetch(
    `${url}/v1/agents/main/sessions/${item.sessionId}/transcripts/${item.sha}?fileName=${item.sessionId}.jsonl`,
    {
      method: 'PUT',
      body: item.text,
      headers: { authorization: `Bearer ${KEY}` },
    },
  );
  await response.arrayBuffer();
  return response.status;
}

describe('crash recovery of the Node server on embedded storage', () => {
  it(
    'loses nothing it acknowledged and leaves nothing half-written across SIGKILLs',
    { timeout: 120_000 },
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'nexus-crash-'));
      const uploads = makeUploads(60);
      const acknowledged = new Set<string>();

      // Kill on progress, not on a timer, so each SIGKILL lands with uploads in flight however
      // fast the machine is: after 5, then 10 more, then 10 more acknowledgements.
      for (const [round, more] of [5, 10, 10].entries()) {
        const server = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY });
        const target = acknowledged.size + more;
        const pending = uploads.filter((u) => !acknowledged.has(u.sessionId)).slice(round * 5);
        // Two uploads at a time, as the worker does, until the kill cuts them off.
        const runners = [0, 1].map(async (lane) => {
          for (let i = lane; i < pending.length; i += 2) {
            const item = pending[i];
            if (!item) break;
            const status = await upload(server.url, item).catch(() => 0);
            if (status === 0) return;
            expect([200, 201]).toContain(status);
            acknowledged.add(item.sessionId);
          }
        });
        const lanes = { finished: false };
        void Promise.all(runners).then(() => {
          lanes.finished = true;
        });
        while (acknowledged.size < target && !lanes.finished)
          await new Promise((resolve) => setTimeout(resolve, 2));
        expect(lanes.finished).toBe(false);
        await server.kill();
        await Promise.all(runners);
      }
      expect(acknowledged.size).toBeGreaterThan(0);
      expect(acknowledged.size).toBeLessThan(uploads.length);

      // Restart: everything acknowledged is there, byte for byte.
      const server = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY });
      for (const item of uploads.filter((u) => acknowledged.has(u.sessionId))) {
        const response = await fetch(
          `${server.url}/v1/agents/main/sessions/${item.sessionId}/transcripts/${item.sha}`,
          {
            headers: { authorization: `Bearer ${KEY}` },
          },
        );
        expect(response.status, item.sessionId).toBe(200);
        expect(
          createHash('sha256')
            .update(Buffer.from(await response.arrayBuffer()))
            .digest('hex'),
        ).toBe(item.sha);
      }
      // The worker retries everything it was not sure of; each is stored exactly once.
      for (const item of uploads) expect([200, 201]).toContain(await upload(server.url, item));
      for (const item of uploads) expect(await upload(server.url, item)).toBe(200);
      expect(await server.stop()).toBe(0);
      // Checked before reopening, which would sweep it: no write was left half-done.
      expect(await readdir(join(dataDir, 'data', 'tmp'))).toEqual([]);

      const storage = await openEmbeddedStorage(join(dataDir, 'data'));
      const generations = (await storage.tables.query('generations', 'default~main')).items;
      expect(generations.map((g) => g.properties['sessionId']).sort()).toEqual(
        uploads.map((u) => u.sessionId).sort(),
      );
      for (const generation of generations) {
        const info = await storage.blobs.head(
          `transcripts/default~main/${String(generation.properties['sessionId'])}/${String(generation.properties['sha256'])}.jsonl`,
        );
        expect(info?.size).toBe(generation.properties['bytes']);
      }
      expect((await storage.tables.query('sessions', 'default~main')).items).toHaveLength(
        uploads.length,
      );
      await storage.close();
    },
  );

  it('keeps the temp file of a large upload under the data folder, and sweeps it after a kill', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'nexus-spool-'));
    const systemTmp = await mkdtemp(join(tmpdir(), 'nexus-systmp-'));
    // A usage ledger over 16 KB is spooled to a file while the transcript streams in.
    const text = buildTranscript({ sessionId: 'spooled', turns: 30_000 }).text;
    const sha = createHash('sha256').update(text).digest('hex');
    const server = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY, TMPDIR: systemTmp });
    const spool = join(dataDir, 'spool');
    // A slow body, so the kill lands while the ledger is being spooled.
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const next = Buffer.from(text.slice(sent, sent + 256 * 1024));
        sent += 256 * 1024;
        if (next.byteLength === 0) controller.close();
        else controller.enqueue(next);
      },
    });
    const request = fetch(
      `${server.url}/v1/agents/main/sessions/spooled/transcripts/${sha}?fileName=spooled.jsonl`,
      {
        method: 'PUT',
        body,
        headers: { authorization: `Bearer ${KEY}` },
        duplex: 'half',
      },
    ).catch(() => undefined);
    while ((await readdir(spool)).length === 0) await new Promise((r) => setTimeout(r, 10));
    await server.kill();
    await request;
    expect((await readdir(spool)).length).toBe(1);
    expect((await readdir(systemTmp)).filter((name) => name.includes('ledger'))).toEqual([]);
    const again = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY, TMPDIR: systemTmp });
    expect(await readdir(spool)).toEqual([]);
    expect(await again.stop()).toBe(0);
  }, 60_000);
});

describe('crash recovery of increments and their consolidation', () => {
  it(
    'keeps every acknowledged generation whole across SIGKILLs landing in increments, a consolidation among them',
    { timeout: 180_000 },
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'nexus-crash-inc-'));
      const texts = Array.from(
        { length: 45 },
        (_, i) =>
          buildTranscript({ sessionId: 'grow', turns: 3 + i, toolEvery: 1, toolResultChars: 6000 })
            .text,
      );
      const sha = (text: string) => createHash('sha256').update(text).digest('hex');
      const put = async (url: string, index: number): Promise<number> => {
        const text = texts[index] ?? '';
        const base = index === 0 ? undefined : (texts[index - 1] ?? '');
        const body =
          base === undefined ? text : Buffer.from(text).subarray(Buffer.byteLength(base));
        const query = `fileName=grow.jsonl${base === undefined ? '' : `&base=${sha(base)}`}`;
        const response = await fetch(
          `${url}/v1/hosts/default/agents/main/sessions/grow/transcripts/${sha(text)}?${query}`,
          { method: 'PUT', body, headers: { authorization: `Bearer ${KEY}` } },
        );
        await response.arrayBuffer();
        return response.status;
      };
      let next = 0;
      let kills = 0;
      while (next < texts.length) {
        const server = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY });
        // Four acknowledged, then the next one is cut off by a SIGKILL while in flight (which
        // lands inside its blob, its rows, or a consolidation, wherever it is by then).
        for (let acked = 0; acked < 4 && next < texts.length; acked += 1) {
          expect([200, 201]).toContain(await put(server.url, next));
          next += 1;
        }
        if (next < texts.length) {
          const inFlight = put(server.url, next).catch(() => 0);
          await new Promise((resolve) => setTimeout(resolve, 3 + (kills % 5) * 4));
          await server.kill();
          await inFlight;
          kills += 1;
        } else {
          await server.stop();
        }
      }
      expect(kills).toBeGreaterThan(8);

      const server = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY });
      try {
        for (const text of texts) {
          const response = await fetch(
            `${server.url}/v1/hosts/default/agents/main/sessions/grow/transcripts/${sha(text)}`,
            { headers: { authorization: `Bearer ${KEY}` } },
          );
          expect(response.status).toBe(200);
          expect((await response.text()) === text).toBe(true);
        }
      } finally {
        await server.stop();
      }
      const storage = await openEmbeddedStorage(join(dataDir, 'data'));
      try {
        const spoolDir = await mkdtemp(join(tmpdir(), 'nexus-crash-inc-spool-'));
        const found = await fsck(storage, { repair: true, spoolDir });
        // What a kill may leave is an unused blob, never damage.
        expect(found.findings.filter((f) => f.kind !== 'unreferenced')).toEqual([]);
        // Each cut-off upload was sent again, so no increment is left without its rows; what
        // --repair tidied (an unused whole or folded blob) is gone.
        expect((await fsck(storage, { repair: false, spoolDir })).findings).toEqual([]);
      } finally {
        await storage.close();
      }
    },
  );
});
