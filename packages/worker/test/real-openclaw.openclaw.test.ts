import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import { buildTranscript } from '@nexus/core/testing';
import { openClawEnv } from '../src/testing/openclaw-gateway.ts';
import { runWorkerJob } from '../src/testing/worker-harness.ts';

/** The real OpenClaw CLI (`npm run test:openclaw` installs it and sets this). */
const OPENCLAW = process.env['NEXUS_TEST_OPENCLAW'];
const KEY = 'real-openclaw-key-0123456789';
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function run(command: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      command,
      args,
      { env: { ...openClawEnv(), ...env }, timeout: 170_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe.skipIf(OPENCLAW === undefined)('with a real OpenClaw (npm run test:openclaw)', () => {
  let server: ServerProcess;
  let dir: string;
  let ocEnv: Record<string, string>;
  let config: string;
  beforeAll(async () => {
    server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-oc-api-')), {
      NEXUS_API_KEYS: KEY,
    });
    dir = await mkdtemp(join(tmpdir(), 'nexus-oc-'));
    const state = join(dir, 'openclaw');
    await mkdir(join(state, 'agents', 'main', 'sessions'), { recursive: true });
    await writeFile(join(state, 'openclaw.json'), JSON.stringify({ gateway: { mode: 'local' } }));
    ocEnv = { HOME: dir, OPENCLAW_STATE_DIR: state };
    config = join(dir, 'worker.json');
    await writeFile(
      config,
      JSON.stringify({
        host: { id: 'oc-host' },
        nexus: { url: server.url, apiKey: KEY },
        openclaw: { stateDir: state },
        stateDir: join(dir, 'worker-state'),
        jobs: [
          {
            id: 'state',
            type: 'state_backup',
            intervalMinutes: 1440,
            config: { openclawCommand: OPENCLAW },
          },
        ],
      }),
    );
  });
  afterAll(async () => {
    await server.stop();
  });

  it("brings a stored session back into OpenClaw's agent database through its own import, byte for byte", async () => {
    const sessionId = '7c1e2a4b-5d6f-4a8b-9c0d-1e2f3a4b5c6d';
    const text = buildTranscript({ sessionId, turns: 4, toolEvery: 2 }).text;
    const put = await fetch(
      `${server.url}/v1/hosts/oc-host/agents/main/sessions/${sessionId}/transcripts/${sha(text)}?fileName=${sessionId}.jsonl`,
      { method: 'PUT', headers: { authorization: `Bearer ${KEY}` }, body: text },
    );
    expect(put.status).toBe(201);
    const state = ocEnv['OPENCLAW_STATE_DIR'] ?? '';
    const restored = await run(
      process.execPath,
      [CLI, 'restore', '--config', config, '--out', state, '--agent', 'main', '--for-openclaw'],
      {},
    );
    expect(restored.code, restored.stderr).toBe(0);
    const imported = await run(
      OPENCLAW ?? '',
      ['doctor', '--session-sqlite', 'import', '--session-sqlite-agent', 'main'],
      ocEnv,
    );
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/main: imported=1\/\d+ events/);

    const db = new DatabaseSync(join(state, 'agents', 'main', 'agent', 'openclaw-agent.sqlite'), {
      readOnly: true,
    });
    const rows = db
      .prepare('SELECT event_json FROM transcript_events WHERE session_id = ? ORDER BY seq')
      .all(sessionId) as { event_json: string }[];
    db.close();
    expect(sha(`${rows.map((r) => r.event_json).join('\n')}\n`)).toBe(sha(text));
    const listed = await run(OPENCLAW ?? '', ['sessions', '--agent', 'main', '--json'], ocEnv);
    expect(listed.stdout).toContain(sessionId);
  });

  it("backs up OpenClaw's state encrypted, and restore-state decrypts it and has OpenClaw verify it", async () => {
    const env = { RECOVERY: 'a recovery passphrase for the real test' };
    expect(
      (
        await run(
          process.execPath,
          [CLI, 'state-key', '--config', config, '--passphrase-env', 'RECOVERY'],
          env,
        )
      ).code,
    ).toBe(0);
    const backup = await runWorkerJob(config, [], 'state');
    expect(backup.code, backup.stderr).toBe(0);
    const restored = await run(
      process.execPath,
      [CLI, 'restore-state', '--config', config, '--out', join(dir, 'state-restore')],
      {},
    );
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/Verified with .*openclaw backup verify/);
  });
});
