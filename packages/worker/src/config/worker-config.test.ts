import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@nexus/core';
import { JOB_TYPES } from '../jobs/registry.ts';
import { loadWorkerConfig, parseWorkerConfig } from './worker-config.ts';

const valid = {
  nexus: { url: 'http://127.0.0.1:7420', apiKey: 'k' },
  openclaw: { stateDir: '/tmp/openclaw' },
  jobs: [
    {
      id: 'session-upload',
      type: 'session_upload',
      intervalMinutes: 15,
      config: { mode: 'move', archiveDir: '/tmp/a' },
    },
  ],
};

function errorOf(raw: unknown, env: Record<string, string> = {}): string {
  try {
    parseWorkerConfig(raw, '/etc/nexus/worker.json', env, JOB_TYPES);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('worker config', () => {
  it('applies defaults to a minimal valid config', () => {
    const config = parseWorkerConfig(valid, '/etc/nexus/worker.json', {}, JOB_TYPES);
    expect(config.jobs[0]).toMatchObject({
      id: 'session-upload',
      enabled: true,
      config: {
        mode: 'move',
        quietMinutes: 5,
        snapshots: true,
        compression: 'auto',
      },
    });
    expect(config.nexus.apiKey).toBe('k');
  });

  it('takes secrets and the URL from the environment over the file', () => {
    const config = parseWorkerConfig(
      valid,
      '/etc/nexus/worker.json',
      {
        NEXUS_API_KEY: 'from-env',
        NEXUS_URL: 'https://nexus.example',
      },
      JOB_TYPES,
    );
    expect(config.nexus).toEqual({ url: 'https://nexus.example', apiKey: 'from-env' });
  });

  it('reads the key from apiKeyFile relative to the config file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-config-'));
    await writeFile(join(dir, 'key'), 'file-key\n');
    await writeFile(
      join(dir, 'worker.json'),
      JSON.stringify({ ...valid, nexus: { url: valid.nexus.url, apiKeyFile: 'key' } }),
    );
    expect(loadWorkerConfig(join(dir, 'worker.json'), {}, JOB_TYPES).nexus.apiKey).toBe('file-key');
  });

  it.each<[string, unknown, RegExp]>([
    [
      'an unknown job type, listing the known ones',
      { ...valid, jobs: [{ ...valid.jobs[0], type: 'backup' }] },
      /jobs\[0\]\.type: unknown job type "backup"; known types: session_upload/,
    ],
    [
      'an interval that is not a number',
      { ...valid, jobs: [{ ...valid.jobs[0], intervalMinutes: '15' }] },
      /jobs\[0\]\.intervalMinutes: must be a number/,
    ],
    [
      'a zero interval',
      { ...valid, jobs: [{ ...valid.jobs[0], intervalMinutes: 0 }] },
      /more than 0/,
    ],
    [
      'a bad job option',
      { ...valid, jobs: [{ ...valid.jobs[0], config: { mode: 'copy' } }] },
      /jobs\[0\]\.config\.mode: must be "keep" or "move"/,
    ],
    [
      'an unknown job option',
      { ...valid, jobs: [{ ...valid.jobs[0], config: { mdoe: 'keep' } }] },
      /jobs\[0\]\.config: .*mdoe/,
    ],
    ['a duplicate job id', { ...valid, jobs: [valid.jobs[0], valid.jobs[0]] }, /used twice/],
    ['no jobs', { ...valid, jobs: [] }, /at least one job/],
    [
      'a URL that is not one',
      { ...valid, nexus: { url: 'localhost', apiKey: 'k' } },
      /nexus\.url: must be the API base URL/,
    ],
    ['a misspelt top-level key', { ...valid, job: [] }, /job/],
    [
      'no API key anywhere',
      { ...valid, nexus: { url: valid.nexus.url } },
      /nexus\.apiKey: no API key; set "apiKey", or "apiKeyFile"/,
    ],
    [
      'a key file that does not exist',
      { ...valid, nexus: { url: valid.nexus.url, apiKeyFile: '/nonexistent/key' } },
      /cannot read \/nonexistent\/key/,
    ],
  ])('refuses %s, naming the field', (_label, raw, message) => {
    const text = errorOf(raw);
    expect(text).toContain('/etc/nexus/worker.json');
    expect(text).toMatch(message);
  });

  it('says how to create a config when there is none', () => {
    expect(() => loadWorkerConfig('/nonexistent/worker.json', {}, JOB_TYPES)).toThrow(
      /nexus-worker init/,
    );
  });

  it('says where a file is not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-config-'));
    await writeFile(join(dir, 'worker.json'), '{ "nexus": ');
    expect(() => loadWorkerConfig(join(dir, 'worker.json'), {}, JOB_TYPES)).toThrow(
      /worker\.json is not valid JSON/,
    );
  });
});
