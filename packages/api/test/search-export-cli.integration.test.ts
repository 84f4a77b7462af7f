import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '../src/testing/spawn-server.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const KEY = 'search-cli-key-0123456789';
const line = (value: unknown) => JSON.stringify(value);
const transcript = (sessionId: string, text: string) =>
  `${[
    line({ type: 'session', id: sessionId, version: 3, timestamp: '2026-11-02T10:00:00Z' }),
    line({
      type: 'message',
      id: `${sessionId}-u`,
      timestamp: '2026-11-02T10:00:01Z',
      message: { role: 'user', content: text },
    }),
  ].join('\n')}\n`;

/**
 * `nexus search` and `nexus export` against the API as a process on embedded storage: the index
 * lives in the data folder, fed by uploads, and is built from storage when it is missing.
 */
describe('nexus search and nexus export against a running API', () => {
  let dataDir: string;
  let server: ServerProcess;
  let workDir: string;

  async function upload(sessionId: string, text: string) {
    const body = transcript(sessionId, text);
    const hash = createHash('sha256').update(body).digest('hex');
    const response = await fetch(
      `${server.url}/v1/hosts/laptop/agents/main/sessions/${sessionId}/transcripts/${hash}?kind=live&fileName=${sessionId}.jsonl`,
      { method: 'PUT', body, headers: { authorization: `Bearer ${KEY}` } },
    );
    expect(response.status).toBe(201);
  }

  function nexus(args: string[]) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        {
          cwd: workDir,
          env: { ...process.env, NEXUS_URL: server.url, NEXUS_API_KEY: KEY },
          timeout: 30_000,
        },
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

  /** Searches until the index has caught up with the uploads (it indexes behind them). */
  async function searchSettled(args: string[]) {
    for (let attempt = 0; ; attempt += 1) {
      const result = await nexus(['search', ...args]);
      if (!result.stdout.includes('not indexed yet') || attempt > 50) return result;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nexus-search-cli-'));
    workDir = await mkdtemp(join(tmpdir(), 'nexus-export-out-'));
    server = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY });
    await upload('s-1', 'Remind me about the dentist on Friday, token ghp_' + 'A'.repeat(36));
    await upload('s-2', '明天的会议改到下午');
  });
  afterAll(async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it('finds a message, marks the match, masks the secret and gives its dashboard address', async () => {
    const found = await searchSettled(['dentist']);
    expect(found.code).toBe(0);
    expect(found.stdout).toContain('laptop/main  s-1  2026-11-02T10:00:01.000Z  user');
    expect(found.stdout).toContain(
      'Remind me about the [dentist] on Friday, token [masked github-token]',
    );
    expect(found.stdout).toContain(`${server.url}/hosts/laptop/agents/main/sessions/s-1?g=`);
    const cjk = await searchSettled(['会议']);
    expect(cjk.stdout).toContain('明天的[会议]改到下午');
  });

  it('exits 1 when nothing matches, 2 with its help when no words are given', async () => {
    const none = await searchSettled(['zebra']);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('No message matches.');
    const help = await nexus(['search']);
    expect(help.code).toBe(2);
    expect(help.stdout).toContain('Usage: nexus search <words...>');
  });

  it('exports a session to a file named by the API, and to standard output', async () => {
    const written = await nexus(['export', 's-1', '--host', 'laptop']);
    expect(written.code, written.stderr).toBe(0);
    const name = /Wrote (\S+)/.exec(written.stderr)?.[1] ?? '';
    expect(name).toMatch(/^s-1-[0-9a-f]{12}\.md$/);
    const text = await readFile(join(workDir, name), 'utf8');
    expect(text).toContain('## User · 2026-11-02T10:00:01Z');
    expect(text).toContain('[masked github-token]');
    const html = await nexus(['export', 's-1', '--format', 'html', '-o', '-']);
    expect(html.stdout).toMatch(/^<!doctype html>/);
    // A file is never overwritten.
    const again = await nexus(['export', 's-1', '--host', 'laptop']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/exists/i);
  });

  it('exports every session of the host as a tar of Markdown files', async () => {
    const result = await nexus(['export', '--all', '-o', 'all.tar']);
    expect(result.code, result.stderr).toBe(0);
    const tar = await readFile(join(workDir, 'all.tar'));
    expect(tar.toString('latin1')).toContain('laptop/main/2026-11-02-s-1.md');
    expect(tar.toString('latin1')).toContain('laptop/main/2026-11-02-s-2.md');
  });

  it('says what is wrong with a bad export', async () => {
    const missing = await nexus(['export', 'nope', '-o', '-']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('the API answered 404');
    const format = await nexus(['export', 's-1', '--format', 'pdf', '-o', '-']);
    expect(format.stderr).toContain('format must be markdown (or md), json or html');
  });

  it('deletes a session only with --yes, and then it is neither found nor exported', async () => {
    await upload('s-3', 'the quokka photos from the trip');
    expect((await searchSettled(['quokka'])).code).toBe(0);
    const asked = await nexus(['delete', 's-3']);
    expect(asked.code).toBe(2);
    expect(asked.stdout).toContain('Would delete session s-3 of agent main on host laptop');
    expect(asked.stdout).toContain('--yes');
    expect((await searchSettled(['quokka'])).code).toBe(0);
    const deleted = await nexus(['delete', 's-3', '--yes']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toMatch(
      /Deleted session s-3 of agent main on host laptop: 1 generation/,
    );
    expect((await searchSettled(['quokka'])).code).toBe(1);
    expect((await nexus(['export', 's-3', '-o', '-'])).stderr).toContain('the API answered 404');
    const again = await nexus(['delete', 's-3', '--yes']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('No session s-3 is stored');
    const help = await nexus(['delete', '--help']);
    expect(help.stdout).toContain('Usage: nexus delete <session-id>');
  });

  it('builds a missing index from storage at start, and rebuilds on request with progress', async () => {
    await server.stop();
    await rm(join(dataDir, 'search.sqlite'), { force: true });
    await rm(join(dataDir, 'search.sqlite-wal'), { force: true });
    await rm(join(dataDir, 'search.sqlite-shm'), { force: true });
    server = await spawnServer(dataDir, { NEXUS_API_KEYS: KEY });
    const found = await searchSettled(['dentist']);
    expect(found.stdout).toContain('[dentist]');
    const rebuilt = await nexus(['search', '--rebuild']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain('search index:');
    expect(rebuilt.stdout).toBe('Rebuilt: 2 messages indexed.\n');
    const status = await nexus(['search', '--status']);
    expect(status.stdout).toMatch(/^2 messages indexed, 0 generations waiting/);
  });
});
