import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import { runWorkerJob } from '../src/testing/worker-harness.ts';

const KEY = 'state-backup-key-0123456789';
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const SECRET = 'sk-ant-credential-that-must-never-leave-the-host';

/**
 * A stand-in for the `openclaw` CLI (the real one is exercised by `npm run test:openclaw`, which
 * needs it installed from npm): `backup create --output DIR --verify` writes a .tar.gz-like
 * archive holding a manifest and a credential; `backup verify FILE` checks that manifest.
 */
async function standInOpenClaw(dir: string): Promise<string> {
  const path = join(dir, 'openclaw');
  await writeFile(
    path,
    `#!${process.execPath}
const { writeFileSync, readFileSync } = require('node:fs');
const { gzipSync, gunzipSync } = require('node:zlib');
const [cmd, sub, ...rest] = process.argv.slice(2);
if (cmd !== 'backup') process.exit(64);
if (sub === 'create') {
  const out = rest[rest.indexOf('--output') + 1];
  const manifest = { kind: 'openclaw-backup', stateDir: process.env.OPENCLAW_STATE_DIR, workspace: !rest.includes('--no-include-workspace') };
  writeFileSync(out + '/2026-12-02T03-15-00.000Z-openclaw-backup.tar.gz', gzipSync(JSON.stringify({ manifest, credentials: ${JSON.stringify(SECRET)} })));
  console.log('Backup written');
} else if (sub === 'verify') {
  const body = JSON.parse(gunzipSync(readFileSync(rest[0])).toString());
  if (body.manifest?.kind !== 'openclaw-backup') { console.error('not an OpenClaw backup'); process.exit(1); }
  console.log('OK');
} else process.exit(64);
`,
  );
  await chmod(path, 0o755);
  return path;
}

function nexusWorker(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('state_backup: OpenClaw state, encrypted on the host, kept by the API as ciphertext', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-state-api-')), {
      NEXUS_API_KEYS: KEY,
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  async function setup(keep = { keepDaily: 7, keepWeekly: 4, keepMonthly: 6 }) {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-state-'));
    const openclaw = await standInOpenClaw(dir);
    const config = join(dir, 'worker.json');
    const write = (stateDir: string) =>
      writeFile(
        config,
        JSON.stringify({
          host: { id: 'laptop' },
          nexus: { url: server.url, apiKey: KEY },
          openclaw: { stateDir: join(dir, 'openclaw') },
          stateDir,
          jobs: [
            {
              id: 'state',
              type: 'state_backup',
              intervalMinutes: 1440,
              config: { openclawCommand: openclaw, ...keep },
            },
          ],
        }),
      );
    await write(join(dir, 'worker-state'));
    return { dir, config, write };
  }
  const headers = { authorization: `Bearer ${KEY}` };
  const list = async () =>
    (
      (await (await fetch(`${server.url}/v1/hosts/laptop/state-backups`, { headers })).json()) as {
        backups: { name: string }[];
      }
    ).backups.map((b) => b.name);

  it('fails loudly without a key, then stores only ciphertext, and restores and verifies it with the key or the recovery passphrase', async () => {
    const { dir, config, write } = await setup();
    const noKey = await runWorkerJob(config, [], 'state');
    expect(noKey.code).toBe(1);
    expect(JSON.stringify(noKey.lines)).toMatch(/no state backup key .*nexus-worker state-key/);

    const env = { RECOVERY: 'correct horse battery staple' };
    const made = await nexusWorker(
      ['state-key', '--config', config, '--passphrase-env', 'RECOVERY'],
      env,
    );
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/recovery-key-\d{8}T\d{6}Z\.age/);
    const again = await nexusWorker(
      ['state-key', '--config', config, '--passphrase-env', 'RECOVERY'],
      env,
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists already/);

    const run = await runWorkerJob(config, [], 'state');
    expect(run.code, run.stderr).toBe(0);
    const [name] = (await list()).filter((n) => n.startsWith('openclaw-state-'));
    expect(name).toMatch(/^openclaw-state-\d{8}T\d{6}Z\.tar\.gz\.age$/);
    const stored = Buffer.from(
      await (
        await fetch(`${server.url}/v1/hosts/laptop/state-backups/${name ?? ''}`, { headers })
      ).arrayBuffer(),
    );
    expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(stored.includes(SECRET)).toBe(false);
    expect(stored.includes(gzipSync('x').subarray(0, 3))).toBe(false);
    // Nothing in clear is left in the worker's folders.
    expect(await readdir(join(dir, 'worker-state', 'tmp'))).toEqual([]);

    const out = join(dir, 'restored');
    const restored = await nexusWorker(['restore-state', '--config', config, '--out', out]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/Verified with .* backup verify/);
    const archive = join(out, (name ?? '').replace(/\.age$/, ''));
    expect(gunzipSync(await readFile(archive)).toString()).toContain(SECRET);

    // A new machine: no key file, only the recovery passphrase.
    await write(join(dir, 'new-machine-state'));
    const wrong = await nexusWorker(
      ['restore-state', '--config', config, '--out', join(dir, 'r2'), '--passphrase-env', 'WRONG'],
      { WRONG: 'not the passphrase at all' },
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/passphrase does not open any recovery key/);
    const recovered = await nexusWorker(
      [
        'restore-state',
        '--config',
        config,
        '--out',
        join(dir, 'r3'),
        '--passphrase-env',
        'RECOVERY',
      ],
      env,
    );
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(
      gunzipSync(await readFile(join(dir, 'r3', (name ?? '').replace(/\.age$/, '')))).toString(),
    ).toContain(SECRET);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('keeps only what the retention policy keeps, and the API refuses an archive that is not encrypted', async () => {
    const { config } = await setup({ keepDaily: 2, keepWeekly: 0, keepMonthly: 0 });
    // Older backups of this host, stored as a worker would (age files with dated names).
    const encrypter = new Encrypter();
    encrypter.addRecipient(await identityToRecipient(await generateX25519Identity()));
    const old = ['20261101T031500Z', '20261120T031500Z', '20261125T031500Z'].map(
      (t) => `openclaw-state-${t}.tar.gz.age`,
    );
    for (const name of old) {
      const put = await fetch(`${server.url}/v1/hosts/laptop/state-backups/${name}`, {
        method: 'PUT',
        headers,
        body: await encrypter.encrypt('old'),
      });
      expect(put.status).toBe(201);
    }
    const plain = await fetch(
      `${server.url}/v1/hosts/laptop/state-backups/openclaw-state-20261126T000000Z.tar.gz.age`,
      {
        method: 'PUT',
        headers,
        body: gzipSync('{"credentials":"x"}'),
      },
    );
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { error: { code: string } }).error.code).toBe('not_encrypted');

    // This setup has its own state folder: it needs its own key first.
    const env = { RECOVERY: 'another long recovery passphrase' };
    const made = await nexusWorker(
      ['state-key', '--config', config, '--passphrase-env', 'RECOVERY'],
      env,
    );
    // A second key for the same host: its recovery copy is stored beside the first one's.
    expect(made.code, made.stderr).toBe(0);
    expect((await list()).filter((n) => n.startsWith('recovery-key-')).length).toBe(2);
    const run = await runWorkerJob(config, [], 'state');
    expect(run.code, run.stderr).toBe(0);
    const names = (await list()).filter((n) => n.startsWith('openclaw-state-')).sort();
    // Today's (and the first test's, also today) and the newest older day survive.
    expect(names).not.toContain(old[0]);
    expect(names).not.toContain(old[1]);
    expect(names).toContain(old[2]);
  }, 120_000);
});
