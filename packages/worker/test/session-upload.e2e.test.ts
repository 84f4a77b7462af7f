import { existsSync } from 'node:fs';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenClawFixture, type OpenClawFixture } from '../src/testing/openclaw-fixture.ts';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import {
  killWorkerWhen,
  runWorkerJob,
  storedGenerations,
  summaryOf,
  writeWorkerConfig,
} from '../src/testing/worker-harness.ts';

const KEY = 'worker-e2e-key-0123456789';

describe('nexus-worker --job session-upload against the real API', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-w-api-')), {
      NEXUS_API_KEYS: KEY,
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  async function stored(fixture: OpenClawFixture) {
    const all = [
      ...(await storedGenerations(server.url, KEY, 'main')),
      ...(await storedGenerations(server.url, KEY, 'work')),
    ];
    const ours = new Set(
      [...fixture.completed, ...fixture.live, fixture.malformed].map((f) => f.sessionId),
    );
    return all.filter((g) => ours.has(g.sessionId));
  }

  it('keep mode: stores exactly the completed transcripts, leaves every file in place, and does nothing on a second run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-w-keep-'));
    const fixture = await createOpenClawFixture(join(dir, 'openclaw'));
    const config = await writeWorkerConfig(dir, {
      url: server.url,
      apiKey: KEY,
      stateDir: fixture.stateDir,
      mode: 'keep',
    });

    const dry = await runWorkerJob(config, ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.lines.filter((l) => l.msg?.startsWith('would upload'))).toHaveLength(
      fixture.completed.length + 1,
    );
    expect(await stored(fixture)).toEqual([]);

    const first = await runWorkerJob(config);
    expect(first.code).toBe(0);
    const counts = summaryOf(first);
    expect(counts).toMatchObject({
      uploaded: fixture.completed.length,
      rejected: 1,
      failed: 0,
      notCompleted: fixture.live.length,
      archived: 0,
    });
    const generations = await stored(fixture);
    expect(generations.map((g) => g.sha256).sort()).toEqual(
      fixture.completed.map((f) => f.sha256).sort(),
    );
    expect(new Set(generations.map((g) => g.sessionId))).toEqual(
      new Set(fixture.completed.map((f) => f.sessionId)),
    );

    const rejection = first.lines.find((l) => l.msg?.startsWith('rejected'));
    expect(rejection?.file).toBe(fixture.malformed.name);
    expect(rejection?.msg).toMatch(/session header/);
    for (const file of [...fixture.completed, ...fixture.live, fixture.malformed])
      expect(existsSync(file.path)).toBe(true);

    const second = await runWorkerJob(config);
    expect(summaryOf(second)).toMatchObject({
      uploaded: 0,
      alreadyPresent: 0,
      unchanged: fixture.completed.length + 1,
    });
  });

  it('move mode: archives only what the API confirmed; live and rejected files stay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-w-move-'));
    const fixture = await createOpenClawFixture(join(dir, 'openclaw'));
    const config = await writeWorkerConfig(dir, {
      url: server.url,
      apiKey: KEY,
      stateDir: fixture.stateDir,
      mode: 'move',
      // Compressed although the API is local: the zstd path end to end (keep mode covers none).
      compression: 'zstd',
    });

    const run = await runWorkerJob(config);
    expect(run.code).toBe(0);
    expect(summaryOf(run)).toMatchObject({ archived: fixture.completed.length, rejected: 1 });
    for (const file of fixture.completed) {
      expect(existsSync(file.path)).toBe(false);
      expect(existsSync(join(dir, 'archive', file.agentId, file.name))).toBe(true);
    }
    for (const file of [...fixture.live, fixture.malformed])
      expect(existsSync(file.path)).toBe(true);
    // A second run remembers the rejection: the file is neither sent again nor moved.
    const again = await runWorkerJob(config);
    expect(summaryOf(again)).toMatchObject({ uploaded: 0, rejected: 0, archived: 0, unchanged: 1 });
    expect(existsSync(fixture.malformed.path)).toBe(true);
    for (const sidecar of fixture.sidecars)
      expect(existsSync(join(fixture.stateDir, 'agents', 'main', 'sessions', sidecar))).toBe(true);
  });

  it('snapshots: uploads a quiet live session only when enabled, and never moves it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-w-snap-'));
    const fixture = await createOpenClawFixture(join(dir, 'openclaw'));
    const config = await writeWorkerConfig(dir, {
      url: server.url,
      apiKey: KEY,
      stateDir: fixture.stateDir,
      mode: 'move',
      snapshots: true,
    });
    await runWorkerJob(config);
    const [locked, idle] = fixture.live;
    const generations = await stored(fixture);
    expect(generations.some((g) => g.sha256 === idle?.sha256 && g.kind === 'live')).toBe(true);
    expect(generations.some((g) => g.sha256 === locked?.sha256)).toBe(false);
    expect(existsSync(idle?.path ?? '')).toBe(true);
  });

  it('a wrong key or URL fails the run loudly and records nothing, so the right one uploads everything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-w-key-'));
    const fixture = await createOpenClawFixture(join(dir, 'openclaw'));
    const options = { url: server.url, stateDir: fixture.stateDir, mode: 'move' as const };
    const wrongKey = await runWorkerJob(
      await writeWorkerConfig(dir, { ...options, apiKey: 'WRONG' }),
    );
    expect(wrongKey.code).toBe(1);
    const line = wrongKey.lines.find((l) => l.msg?.startsWith('stopped uploading'));
    expect(line?.msg).toMatch(/refused the key: check NEXUS_API_KEY/);
    expect(summaryOf(wrongKey)).toMatchObject({ uploaded: 0, rejected: 0 });

    const wrongUrl = await runWorkerJob(
      await writeWorkerConfig(dir, { ...options, url: `${server.url}/nexus`, apiKey: KEY }),
    );
    expect(wrongUrl.code).toBe(1);
    expect(wrongUrl.lines.find((l) => l.msg?.startsWith('stopped uploading'))?.msg).toMatch(
      /no upload route: check NEXUS_URL/,
    );
    for (const file of fixture.completed) expect(existsSync(file.path)).toBe(true);

    const right = await runWorkerJob(await writeWorkerConfig(dir, { ...options, apiKey: KEY }));
    expect(right.code).toBe(0);
    expect(summaryOf(right)).toMatchObject({
      uploaded: fixture.completed.length,
      rejected: 1,
      failed: 0,
    });
    expect((await stored(fixture)).map((g) => g.sha256).sort()).toEqual(
      fixture.completed.map((f) => f.sha256).sort(),
    );
  });

  it('fails, saying so, when the OpenClaw state folder is a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-w-file-'));
    const notAFolder = join(dir, 'openclaw.json');
    await writeFile(notAFolder, '{}');
    const run = await runWorkerJob(
      await writeWorkerConfig(dir, {
        url: server.url,
        apiKey: KEY,
        stateDir: notAFolder,
        mode: 'keep',
      }),
    );
    expect(run.code).toBe(1);
    expect(run.lines.some((l) => l.msg?.includes(`${notAFolder} is not a folder`))).toBe(true);
  });

  it('exits 2 with a clear message for a bad config, and 1 when the API cannot be reached', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-w-bad-'));
    const fixture = await createOpenClawFixture(join(dir, 'openclaw'));
    const missing = await runWorkerJob(join(dir, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nexus-worker init/);
    const config = await writeWorkerConfig(dir, {
      url: 'http://127.0.0.1:9',
      apiKey: KEY,
      stateDir: fixture.stateDir,
      mode: 'move',
    });
    const unreachable = await runWorkerJob(config);
    expect(unreachable.code).toBe(1);
    // The first uploads give up after their retries; the rest are not tried, all left in place.
    expect(summaryOf(unreachable)).toMatchObject({ uploaded: 0, rejected: 0 });
    expect(summaryOf(unreachable).failed).toBeGreaterThan(0);
    expect(unreachable.lines.find((l) => l.msg?.startsWith('stopped uploading'))?.msg).toMatch(
      /gave up after 7 attempts/,
    );
    for (const file of fixture.completed) expect(existsSync(file.path)).toBe(true);
  }, 120_000);

  it('loses no file and stores none twice when the worker is killed mid-run, again and again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-w-crash-'));
    const fixture = await createOpenClawFixture(join(dir, 'openclaw'), { extraArchives: 80 });
    const config = await writeWorkerConfig(dir, {
      url: server.url,
      apiKey: KEY,
      stateDir: fixture.stateDir,
      mode: 'move',
      concurrency: 4,
      compression: 'zstd',
    });
    const archivedCount = async () => {
      const folder = join(dir, 'archive', 'main');
      return existsSync(folder) ? (await readdir(folder)).length : 0;
    };
    // Kill on progress, not on a timer: each SIGKILL lands while uploads are under way.
    for (const threshold of [5, 20, 40]) {
      expect(await killWorkerWhen(config, async () => (await archivedCount()) >= threshold)).toBe(
        true,
      );
    }
    const archivedBefore = await archivedCount();
    expect(archivedBefore).toBeLessThan(fixture.completed.length);

    const final = await runWorkerJob(config);
    expect(final.code).toBe(0);
    const generations = await stored(fixture);
    // Exactly once per content: one generation per completed file, none extra.
    expect(generations.map((g) => g.sha256).sort()).toEqual(
      fixture.completed.map((f) => f.sha256).sort(),
    );
    // No file lost: every completed file is in the archive, none left, none duplicated there.
    const archived = [
      ...(await readdir(join(dir, 'archive', 'main'))),
      ...(await readdir(join(dir, 'archive', 'work'))),
    ];
    expect(archived.sort()).toEqual(fixture.completed.map((f) => basename(f.path)).sort());
  }, 120_000);
});
