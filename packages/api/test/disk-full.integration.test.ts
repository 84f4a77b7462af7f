import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildTranscript } from '@nexus/core/testing';
import { spawnServer } from '../src/testing/spawn-server.ts';

const KEY = 'disk-full-key-0123456789';

/** Mounting a tmpfs needs root (CI runs as root); elsewhere this case is skipped, and says so. */
function canMount(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const mountable = canMount();
if (!mountable) console.warn('disk-full test skipped: mounting a small tmpfs needs root on Linux');

const mounted: string[] = [];
afterAll(() => {
  for (const dir of mounted) execFileSync('umount', ['-l', dir]);
});

async function put(url: string, sessionId: string, text: string) {
  const sha = createHash('sha256').update(text).digest('hex');
  const response = await fetch(
    `${url}/v1/agents/main/sessions/${sessionId}/transcripts/${sha}?fileName=${sessionId}.jsonl`,
    // A stream of unknown length: the streamed write path, where the crash was.
    {
      method: 'PUT',
      body: new Blob([text]).stream(),
      headers: { authorization: `Bearer ${KEY}` },
      duplex: 'half',
    },
  );
  return { status: response.status, headers: response.headers, body: await response.text() };
}

describe.skipIf(!mountable)('a full disk under embedded storage', () => {
  it('answers 507 with Retry-After, stays up, leaves nothing partial, reports it in /v1/health, and recovers once space is freed', async () => {
    const mount = await mkdtemp(join(tmpdir(), 'nexus-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mount]);
    mounted.push(mount);
    const dataDir = join(mount, 'nexus');
    await mkdir(dataDir);
    const server = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY });
    try {
      const small = buildTranscript({ sessionId: 'fits', turns: 3 }).text;
      expect((await put(server.url, 'fits', small)).status).toBe(201);

      const large = buildTranscript({ sessionId: 'huge', turns: 50_000 }).text;
      expect(large.length).toBeGreaterThan(30 * 1024 * 1024);
      const full = await put(server.url, 'huge', large);
      expect(full.status).toBe(507);
      expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
      const error = (JSON.parse(full.body) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('insufficient_storage');
      expect(error.message).toContain(dataDir);

      // A small row still fits (the failed run's report, written right after it): the disk is no
      // less full for that, and the health check keeps saying so.
      const reported = await fetch(`${server.url}/v1/hosts/default/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          jobId: 'session-upload',
          type: 'session_upload',
          startedAt: new Date().toISOString(),
          finishedAt: new Date().toISOString(),
          success: false,
          message: 'stopped uploading: the API at … has no space left',
          counts: { failed: 1 },
          errors: [],
          errorCount: 0,
        }),
      });
      expect(reported.status).toBe(204);

      // Alive, and saying what is wrong.
      const health = await fetch(`${server.url}/v1/health`);
      expect(health.status).toBe(503);
      const report = (await health.json()) as { status: string; error: string };
      expect(report.status).toBe('degraded');
      expect(report.error).toMatch(/no space/i);
      // Nothing partial: no temp file, no blob of the refused upload.
      expect(await readdir(join(dataDir, 'data', 'tmp'))).toEqual([]);
      const blobs = await readdir(join(dataDir, 'data', 'blobs', 'transcripts', 'default~main'));
      expect(blobs).toEqual(['fits']);

      // Space comes back (the tmpfs grows): health recovers and the upload goes through.
      execFileSync('mount', ['-o', 'remount,size=96m', mount]);
      const healed = await fetch(`${server.url}/v1/health`);
      expect(healed.status).toBe(200);
      expect((await put(server.url, 'huge', large)).status).toBe(201);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
