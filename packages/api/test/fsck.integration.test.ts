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
