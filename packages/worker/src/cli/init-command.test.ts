import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { normaliseHostId } from '@nexus/core';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOpenClawFixture } from '../testing/openclaw-fixture.ts';
import { parseWorkerConfig } from '../config/worker-config.ts';
import { JOB_TYPES } from '../jobs/registry.ts';
import { initCommand } from './init-command.ts';

const JOBS = [{ id: 'session-upload', type: 'session_upload', intervalMinutes: 15 }];

describe('nexus-worker init', () => {
  it('writes a valid config naming the OpenClaw folder and agents it found, touching nothing of OpenClaw', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-init-'));
    const fixture = await createOpenClawFixture(join(dir, 'openclaw'));
    const before = await readdir(join(fixture.stateDir, 'agents', 'main', 'sessions'));
    const openclawJson = await readFile(join(fixture.stateDir, 'openclaw.json'), 'utf8');
    const configPath = join(dir, 'nexus', 'worker.json');

    const lines = await initCommand({
      configPath,
      openclawDir: fixture.stateDir,
      force: false,
      env: {},
    });
    expect(lines.join('\n')).toMatch(/agents: main, work/);
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    const config = parseWorkerConfig(
      JSON.parse(await readFile(configPath, 'utf8')),
      configPath,
      {
        NEXUS_API_KEY: 'k',
      },
      JOB_TYPES,
    );
    expect(config.openclaw.stateDir).toBe(fixture.stateDir);
    // This machine's host id: its hostname, as a host id.
    expect(config.host).toEqual({ id: normaliseHostId(hostname()), name: hostname(), named: true });
    expect(config.jobs.map((j) => [j.type, j.enabled])).toEqual([
      ['session_upload', true],
      ['webhook_delivery', true],
      // Offered, off until this host has a key.
      ['state_backup', false],
    ]);
    expect(lines.join('\n')).toMatch(/delivering to the OpenClaw gateway/);
    expect(lines.join('\n')).toMatch(/State backups .* off\. .*nexus-worker state-key/);
    // What it says is what it wrote.
    const upload = config.jobs.find((j) => j.type === 'session_upload');
    expect(lines.join('\n')).toContain(
      `Job: session-upload every ${String(upload?.intervalMinutes)} min: live sessions once quiet for ${String((upload?.config as { quietMinutes?: number }).quietMinutes)} min`,
    );
    expect(await readdir(join(fixture.stateDir, 'agents', 'main', 'sessions'))).toEqual(before);
    expect(await readFile(join(fixture.stateDir, 'openclaw.json'), 'utf8')).toBe(openclawJson);
  });

  it('leaves webhook delivery disabled, and says why, while openclaw.json accepts no hooks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-init-hooks-'));
    await mkdir(join(dir, 'openclaw'));
    await writeFile(
      join(dir, 'openclaw', 'openclaw.json'),
      "{ hooks: { token: 'secret-token' }, // JSON5: not enabled\n}",
    );
    const configPath = join(dir, 'worker.json');
    const lines = await initCommand({
      configPath,
      openclawDir: join(dir, 'openclaw'),
      force: false,
      env: {},
    });
    const config = parseWorkerConfig(
      JSON.parse(await readFile(configPath, 'utf8')),
      configPath,
      {
        NEXUS_API_KEY: 'k',
      },
      JOB_TYPES,
    );
    expect(config.jobs.find((j) => j.type === 'webhook_delivery')?.enabled).toBe(false);
    expect(lines.join('\n')).toMatch(
      /webhook_delivery\) is disabled: OpenClaw does not accept hooks yet/,
    );
  });

  it('refuses to overwrite a config unless forced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-init-'));
    const configPath = join(dir, 'worker.json');
    await initCommand({ configPath, openclawDir: join(dir, 'none'), force: false, env: {} });
    await expect(
      initCommand({ configPath, openclawDir: join(dir, 'none'), force: false, env: {} }),
    ).rejects.toThrow(/--force/);
    await expect(
      initCommand({ configPath, openclawDir: join(dir, 'none'), force: true, env: {} }),
    ).resolves.toBeDefined();
  });

  it('says clearly when there is no OpenClaw folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-init-'));
    const lines = await initCommand({
      configPath: join(dir, 'w.json'),
      openclawDir: join(dir, 'missing'),
      force: false,
      env: {},
    });
    expect(lines.join('\n')).toMatch(/no state folder at .*missing/);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('takes the host id and name it is given, and refuses a host id that is not one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-init-host-'));
    const configPath = join(dir, 'worker.json');
    await initCommand({
      configPath,
      openclawDir: join(dir, 'none'),
      force: false,
      env: {},
      hostId: 'home-server',
      hostName: 'The box under the stairs',
    });
    expect(JSON.parse(await readFile(configPath, 'utf8'))).toMatchObject({
      host: { id: 'home-server', name: 'The box under the stairs' },
    });
    await expect(
      initCommand({ configPath, force: true, env: {}, hostId: 'Home Server' }),
    ).rejects.toThrow(/host id is not valid.*e\.g\. "home-server"/);
  });

  it('reads a config from before hosts as the default host, and says so', () => {
    const config = parseWorkerConfig(
      { nexus: { url: 'http://127.0.0.1:7420', apiKey: 'k' }, jobs: JOBS },
      '/x/worker.json',
      {},
      JOB_TYPES,
    );
    expect(config.host).toEqual({ id: 'default', name: 'default', named: false });
    expect(() =>
      parseWorkerConfig(
        {
          host: { id: 'Laptop' },
          nexus: { url: 'http://127.0.0.1:7420', apiKey: 'k' },
          jobs: JOBS,
        },
        '/x/worker.json',
        {},
        JOB_TYPES,
      ),
    ).toThrow(/host\.id: must be a host id/);
  });
});
