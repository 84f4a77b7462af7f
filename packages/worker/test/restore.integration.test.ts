import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import { createOpenClawFixture } from '../src/testing/openclaw-fixture.ts';

const ADMIN_KEY = 'restore-admin-key-0123456789';
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

function worker(config: string, args: readonly string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args, '--config', config],
      { env: { ...process.env, NEXUS_LOG_FORMAT: 'json' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The last JSON log line of a run: the restore's summary. */
function summaryOf(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
}

describe('restoring stored transcripts onto a machine', () => {
  let server: ServerProcess;
  let config: string;
  let dir: string;
  let stored: Map<string, string>;
  const admin = (path: string) =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });

  beforeAll(async () => {
    server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-restore-api-')), {
      NEXUS_API_KEYS: ADMIN_KEY,
    });
    dir = await mkdtemp(join(tmpdir(), 'nexus-restore-'));
    const fixture = await createOpenClawFixture(join(dir, 'openclaw'));
    const created = await fetch(`${server.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'worker', hostId: 'restore-box' }),
    });
    const { key } = (await created.json()) as { key: string };
    config = join(dir, 'worker.json');
    await writeFile(
      config,
      JSON.stringify({
        host: { id: 'restore-box' },
        nexus: { url: server.url, apiKey: key },
        openclaw: { stateDir: fixture.stateDir },
        stateDir: join(dir, 'worker-state'),
        jobs: [{ id: 'session-upload', type: 'session_upload', intervalMinutes: 15 }],
      }),
    );
    expect((await worker(config, ['--job', 'session-upload'])).code).toBe(0);
    // What the API holds: each session's latest generation.
    stored = new Map();
    for (const agent of ['main', 'work']) {
      const { sessions } = (await (
        await admin(`/v1/hosts/restore-box/agents/${agent}/sessions?limit=1000`)
      ).json()) as { sessions: { sessionId: string; latestSha256: string }[] };
      for (const s of sessions) stored.set(`${agent}/${s.sessionId}`, s.latestSha256);
    }
    expect(stored.size).toBeGreaterThan(5);
  });
  afterAll(async () => {
    await server.stop();
  });

  async function restoredFiles(out: string): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const agent of await readdir(join(out, 'agents')))
      for (const name of await readdir(join(out, 'agents', agent, 'sessions')))
        found.set(
          `${agent}/${name.replace(/\.jsonl$/, '')}`,
          sha256(await readFile(join(out, 'agents', agent, 'sessions', name))),
        );
    return found;
  }

  it('writes every session’s latest bytes as OpenClaw files, then never overwrites', async () => {
    const out = join(dir, 'restored');
    const first = await worker(config, ['restore', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    expect(summaryOf(first.stdout)).toMatchObject({
      restored: stored.size,
      alreadyThere: 0,
      conflicts: 0,
      failed: 0,
    });
    expect(await restoredFiles(out)).toEqual(stored);

    // Again: everything is already there. A file with other bytes in the way is left alone.
    const [someKey] = [...stored.keys()];
    const [agent = '', session = ''] = (someKey ?? '').split('/');
    const inTheWay = join(out, 'agents', agent, 'sessions', `${session}.jsonl`);
    await writeFile(inTheWay, 'my own notes\n');
    const again = await worker(config, ['restore', '--out', out]);
    expect(again.code).toBe(0);
    expect(summaryOf(again.stdout)).toMatchObject({
      restored: 0,
      alreadyThere: stored.size - 1,
      conflicts: 1,
      failed: 0,
    });
    expect(await readFile(inTheWay, 'utf8')).toBe('my own notes\n');
    expect(again.stdout).toContain('left alone: a different file is already there');
  });

  it('restores one session of one agent, and says when the selection makes no sense', async () => {
    const [someKey, sha] = [...stored.entries()][0] ?? ['', ''];
    const [agent = '', session = ''] = someKey.split('/');
    const out = join(dir, 'one');
    const one = await worker(config, [
      'restore',
      '--out',
      out,
      '--agent',
      agent,
      '--session',
      session,
    ]);
    expect(one.code, one.stderr).toBe(0);
    expect(await restoredFiles(out)).toEqual(new Map([[someKey, sha]]));
    const alone = await worker(config, ['restore', '--out', out, '--session', session]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/--session goes with --agent/);
    const other = await worker(config, ['restore', '--out', out, '--host', 'someone-else']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(
      /403.*needs an admin key, a reader key of host someone-else or its worker key/,
    );
  });

  it('serves the same files as one tar bundle that tar extracts', async () => {
    await mkdir(join(dir, 'bundle'));
    for (const agent of ['main', 'work']) {
      const response = await admin(`/v1/hosts/restore-box/agents/${agent}/bundle`);
      expect(response.headers.get('content-type')).toBe('application/x-tar');
      await writeFile(join(dir, `${agent}.tar`), Buffer.from(await response.arrayBuffer()));
      execFileSync('tar', ['-xf', join(dir, `${agent}.tar`), '-C', join(dir, 'bundle')]);
    }
    expect(await restoredFiles(join(dir, 'bundle'))).toEqual(stored);
  });
});
