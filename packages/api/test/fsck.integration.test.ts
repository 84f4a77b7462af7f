import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, inject, it } from 'vitest';
import { buildTranscript } from '@nexus/core/testing';
import { fsck } from '../src/maintenance/fsck.ts';
import { loadGenerationRows } from '../src/transcripts/generation-content.ts';
import { MAX_SEGMENTS } from '../src/transcripts/generation-layout.ts';
import { openEmbeddedStorage } from '../src/storage/embedded/open-embedded-storage.ts';
import { backends, get, putTranscript, sha256, testApp } from '../src/testing/api-harness.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

describe.each(backends(inject('azuriteConnectionString')))(
  'nexus fsck on $name storage',
  (backend) => {
    it('finds a transcript whose rows were lost and rebuilds them from its bytes; reports bytes that are gone', async () => {
      const storage = await backend.open();
      const app = testApp(storage);
      const texts = ['f1', 'f2', 'f3'].map(
        (id) => buildTranscript({ sessionId: id, turns: 3 }).text,
      );
      for (const [i, text] of texts.entries())
        expect(
          (await putTranscript(app, text, text, { sessionId: `f${String(i + 1)}` })).status,
        ).toBe(201);
      const spoolDir = await mkdtemp(join(tmpdir(), 'nexus-fsck-spool-'));
      expect((await fsck(storage, { repair: false, spoolDir })).findings).toEqual([]);

      // f2 loses its rows (a damaged database), f3 its bytes.
      const f2 = sha256(texts[1] ?? '');
      await storage.tables.delete('generations', 'default~main', `f2|${f2}`);
      await storage.tables.delete('sessions', 'default~main', 'f2');
      const f3Key = `transcripts/default~main/f3/${sha256(texts[2] ?? '')}.jsonl`;
      await storage.blobs.delete(f3Key);
      expect((await get(app, '/v1/agents/main/sessions/f2')).status).toBe(404);

      const found = await fsck(storage, { repair: false, spoolDir });
      expect(found.findings.map((f) => [f.kind, f.key])).toEqual([
        ['missing_rows', `transcripts/default~main/f2/${f2}.jsonl`],
        ['missing_blob', f3Key],
      ]);
      expect(found.repaired).toEqual([]);
      expect((await get(app, '/v1/agents/main/sessions/f2')).status).toBe(404);

      const repaired = await fsck(storage, { repair: true, spoolDir });
      expect(repaired.repaired).toEqual([`transcripts/default~main/f2/${f2}.jsonl`]);
      const session = await get(app, '/v1/agents/main/sessions/f2');
      expect(session.status).toBe(200);
      const detail = (await session.json()) as {
        session: { generations: number; latestSha256: string };
      };
      expect(detail.session).toMatchObject({ generations: 1, latestSha256: f2 });
      const after = await fsck(storage, { repair: false, spoolDir });
      expect(after.findings.map((f) => f.kind)).toEqual(['missing_blob']);

      // A file under transcripts/ that the API never writes is reported, not skipped.
      await storage.blobs.putIfAbsent(
        'transcripts/default~main/f1/notes.txt',
        Buffer.from('hello'),
      );
      const stray = await fsck(storage, { repair: false, spoolDir });
      expect(stray.findings.map((f) => [f.kind, f.key])).toContainEqual([
        'corrupt',
        'transcripts/default~main/f1/notes.txt',
      ]);
      await storage.close();
    });

    it('checks increments from their base, finds a damaged or missing one, and tidies what a stopped consolidation left', async () => {
      const storage = await backend.open();
      const app = testApp(storage);
      const texts = Array.from(
        { length: MAX_SEGMENTS + 6 },
        (_, i) => buildTranscript({ sessionId: 'inc', turns: 2 + i }).text,
      );
      const put = (i: number) =>
        putTranscript(
          app,
          Buffer.from(texts[i] ?? '').subarray(Buffer.byteLength(texts[i - 1] ?? '')),
          texts[i] ?? '',
          {
            sessionId: 'inc',
            query: `&base=${sha256(texts[i - 1] ?? '')}`,
          },
        );
      await putTranscript(app, texts[0] ?? '', texts[0] ?? '', { sessionId: 'inc' });
      for (let i = 1; i < texts.length; i += 1) expect((await put(i)).status).toBe(201);
      const spoolDir = await mkdtemp(join(tmpdir(), 'nexus-fsck-spool-'));
      const clean = await fsck(storage, { repair: false, spoolDir });
      expect(clean.findings).toEqual([]);
      expect(clean.generationRows).toBe(texts.length);

      const scope = { hostId: 'default', agentId: 'main' };
      const rows = await loadGenerationRows(storage, scope, 'inc');
      const [lastSha, beforeLastSha] = [texts.at(-1), texts.at(-2)].map((t) => sha256(t ?? ''));
      const deltaKey = (sha: string) => `deltas/default~main/inc/${sha}.jsonl`;
      expect(rows.get(lastSha ?? '')?.layout.kind).toBe('delta');

      // The last increment's bytes are damaged; the one before loses its bytes.
      const last = deltaKey(lastSha ?? '');
      const body = await storage.blobs.get(last);
      const bytes: Uint8Array[] = [];
      for await (const chunk of body.body) bytes.push(chunk);
      await storage.blobs.delete(last);
      const damaged = Buffer.concat(bytes);
      damaged[0] = 0x20;
      await storage.blobs.putIfAbsent(last, damaged);
      const found = await fsck(storage, { repair: false, spoolDir });
      expect(found.findings.map((f) => [f.kind, f.key])).toEqual([['corrupt', last]]);
      await storage.blobs.delete(deltaKey(beforeLastSha ?? ''));
      const gone = await fsck(storage, { repair: false, spoolDir });
      expect(gone.findings.map((f) => [f.kind, f.key])).toEqual([
        ['missing_blob', deltaKey(beforeLastSha ?? '')],
        ['missing_blob', last],
      ]);
      await storage.close();
    });

    it('repairs what a consolidation stopped half-way left: a whole blob not yet adopted, increments not yet removed', async () => {
      const storage = await backend.open();
      const app = testApp(storage);
      const texts = [2, 3, 4].map((turns) => buildTranscript({ sessionId: 'half', turns }).text);
      await putTranscript(app, texts[0] ?? '', texts[0] ?? '', { sessionId: 'half' });
      for (const i of [1, 2])
        await putTranscript(
          app,
          Buffer.from(texts[i] ?? '').subarray(Buffer.byteLength(texts[i - 1] ?? '')),
          texts[i] ?? '',
          { sessionId: 'half', query: `&base=${sha256(texts[i - 1] ?? '')}` },
        );
      const tip = sha256(texts[2] ?? '');
      // Stopped after writing the whole blob, before the rows: the blob is not read by anyone.
      await storage.blobs.putIfAbsent(
        `transcripts/default~main/half/${tip}.jsonl`,
        Buffer.from(texts[2] ?? ''),
      );
      // And an increment left behind by an earlier consolidation of the middle generation.
      const spoolDir = await mkdtemp(join(tmpdir(), 'nexus-fsck-spool-'));
      const found = await fsck(storage, { repair: false, spoolDir });
      expect(found.findings.map((f) => f.kind)).toEqual(['unreferenced']);
      const repaired = await fsck(storage, { repair: true, spoolDir });
      expect(repaired.repaired).toEqual([`transcripts/default~main/half/${tip}.jsonl`]);
      const rows = await loadGenerationRows(
        storage,
        { hostId: 'default', agentId: 'main' },
        'half',
      );
      expect([...rows.values()].map((r) => r.layout.kind).sort()).toEqual([
        'whole',
        'within',
        'within',
      ]);
      expect((await fsck(storage, { repair: false, spoolDir })).findings).toEqual([]);
      for (const text of texts) {
        const response = await get(
          app,
          `/v1/agents/main/sessions/half/transcripts/${sha256(text)}`,
        );
        expect(await response.text()).toBe(text);
      }
      // A folded increment that a stopped clean-up left: removed by --repair.
      const middle = sha256(texts[1] ?? '');
      await storage.blobs.putIfAbsent(`deltas/default~main/half/${middle}.jsonl`, Buffer.from('x'));
      const stray = await fsck(storage, { repair: true, spoolDir });
      expect(stray.findings.map((f) => [f.kind, f.key])).toEqual([
        ['unreferenced', `deltas/default~main/half/${middle}.jsonl`],
      ]);
      expect(stray.repaired).toHaveLength(1);
      expect((await fsck(storage, { repair: false, spoolDir })).findings).toEqual([]);
      await storage.close();
    });
  },
);

function nexus(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}

describe('nexus fsck, the command', () => {
  it('exits 1 with what it found, repairs with --repair, and reports corrupt bytes it cannot repair', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'nexus-fsck-cli-'));
    const storage = await openEmbeddedStorage(join(dataDir, 'data'));
    const app = testApp(storage);
    const text = buildTranscript({ sessionId: 'c1', turns: 2 }).text;
    const bad = buildTranscript({ sessionId: 'c2', turns: 2 }).text;
    await putTranscript(app, text, text, { sessionId: 'c1' });
    await putTranscript(app, bad, bad, { sessionId: 'c2' });
    await storage.close();
    // A crash with a damaged WAL: the rows of c1 are gone, its bytes are there.
    const db = new DatabaseSync(join(dataDir, 'data', 'tables.sqlite'));
    db.prepare(
      "DELETE FROM entities WHERE pk = 'default~main' AND (rk = 'c1' OR rk LIKE 'c1|%')",
    ).run();
    db.close();
    const env = {
      NEXUS_DATA_DIR: dataDir,
      NEXUS_API_KEYS: 'cli-test-key-0123456789',
      NEXUS_STORAGE: 'embedded',
    };

    const check = await nexus(['fsck'], env);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(
      /missing_rows: transcripts\/default~main\/c1\/.*no generation row and session row/,
    );
    expect(check.stdout).toMatch(/run "nexus fsck --repair"/);

    const repair = await nexus(['fsck', '--repair'], env);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toMatch(/repaired: transcripts\/default~main\/c1\//);
    expect((await nexus(['fsck'], env)).stdout).toMatch(/Everything is consistent/);

    // Bytes changed on disk: reported, exit 1, nothing "repaired".
    await writeFile(
      join(dataDir, 'data', 'blobs', 'transcripts', 'default~main', 'c2', `${sha256(bad)}.jsonl`),
      'garbage\n',
    );
    const corrupt = await nexus(['fsck', '--repair', '--json'], env);
    expect(corrupt.code).toBe(1);
    const report = JSON.parse(corrupt.stdout) as {
      findings: { kind: string }[];
      remaining: number;
    };
    expect(report.findings.map((f) => f.kind)).toEqual(['corrupt']);
    expect(report.remaining).toBe(1);
    expect((await nexus(['fsck', '--help'], env)).stdout).toMatch(/--repair/);
  }, 60_000);
});
