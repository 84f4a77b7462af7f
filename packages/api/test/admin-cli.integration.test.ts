import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '../src/testing/spawn-server.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const KEY = 'admin-cli-key-0123456789';

describe('nexus endpoints and nexus webhooks against a running API', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-admin-')), {
      NEXUS_API_KEYS: KEY,
    });
    env = {
      NEXUS_URL: server.url,
      NEXUS_API_KEY: KEY,
      NEXUS_PUBLIC_URL: 'https://hooks.example.com',
    };
  });
  afterAll(async () => {
    await server.stop();
  });

  function nexus(args: string[], extraEnv: Record<string, string> = {}) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        { env: { ...process.env, ...env, ...extraEnv }, timeout: 20_000 },
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

  it('adds an endpoint and prints the URL and secret to paste into the sender', async () => {
    const added = await nexus([
      'endpoints',
      'add',
      '--id',
      'gh-cli',
      '--agent',
      'main',
      '--provider',
      'github',
    ]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(
      'Endpoint gh-cli created for agent main on host default (github, action agent).',
    );
    expect(added.stdout).toContain('URL:    https://hooks.example.com/hooks/gh-cli');
    expect(added.stdout).toMatch(/Secret: \S{20,}/);
    expect(added.stdout).toContain('Settings > Webhooks > Add webhook');
    const listed = await nexus(['endpoints', 'list']);
    expect(listed.stdout).toMatch(/^id\s+host\s+agent\s+provider/);
    expect(listed.stdout).toMatch(
      /gh-cli\s+default\s+main\s+github\s+agent\s+active\s+all\s+…\S{4}\s+https:\/\/hooks\.example\.com\/hooks\/gh-cli/,
    );
    const json = JSON.parse((await nexus(['endpoints', 'show', 'gh-cli', '--json'])).stdout) as {
      id: string;
    };
    expect(json.id).toBe('gh-cli');
  });

  it('rotates a secret in two steps, disables, enables and removes an endpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-admin-secret-'));
    await writeFile(join(dir, 'secret'), 'first-shared-secret\n');
    await nexus([
      'endpoints',
      'add',
      '--id',
      'hm-cli',
      '--agent',
      'main',
      '--provider',
      'hmac',
      '--header',
      'x-sig',
      '--secret-file',
      join(dir, 'secret'),
    ]);
    const post = (secret: string) =>
      fetch(`${server.url}/hooks/hm-cli`, {
        method: 'POST',
        headers: {
          'x-sig': createHmac('sha256', secret).update(`{"s":"${secret}"}`).digest('hex'),
        },
        body: `{"s":"${secret}"}`,
      }).then((r) => r.status);
    expect(await post('first-shared-secret')).toBe(202);

    const rotated = await nexus(['endpoints', 'rotate', 'hm-cli']);
    const added = /New secret for hm-cli: (\S+)/.exec(rotated.stdout)?.[1] ?? '';
    expect(added.length).toBeGreaterThan(20);
    expect(rotated.stdout).toContain('nexus endpoints rotate hm-cli --retire cret');
    expect(await post(added)).toBe(202);
    expect(await post('first-shared-secret')).toBe(200); // a duplicate now, but still verified

    expect((await nexus(['endpoints', 'rotate', 'hm-cli', '--retire', 'cret'])).code).toBe(0);
    expect(await post('first-shared-secret')).toBe(401);

    const templated = await nexus([
      'endpoints',
      'template',
      'hm-cli',
      '--template',
      'Got {{payload.s}}',
    ]);
    expect(templated.stdout).toContain('now writes its messages with: Got {{payload.s}}');
    expect(JSON.parse((await nexus(['endpoints', 'show', 'hm-cli'])).stdout)).toMatchObject({
      template: 'Got {{payload.s}}',
    });
    expect((await nexus(['endpoints', 'template', 'hm-cli', '--clear'])).stdout).toContain(
      'built-in summary again',
    );
    expect(JSON.parse((await nexus(['endpoints', 'show', 'hm-cli'])).stdout)).not.toHaveProperty(
      'template',
    );
    const neither = await nexus(['endpoints', 'template', 'hm-cli']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give either --template <text> or --clear');

    expect((await nexus(['endpoints', 'disable', 'hm-cli'])).stdout).toContain('refused with 403');
    expect(await post(added)).toBe(403);
    await nexus(['endpoints', 'enable', 'hm-cli']);
    expect((await nexus(['endpoints', 'remove', 'hm-cli'])).code).toBe(0);
    expect(await post(added)).toBe(404);
  });

  it('filters event types, pauses and resumes, and turns dead-webhook notices on', async () => {
    const added = await nexus([
      'endpoints',
      'add',
      '--id',
      'ctl-cli',
      '--agent',
      'ctl',
      '--provider',
      'token',
      '--header',
      'x-token',
      '--events',
      'build.*, deploy',
      '--paused',
      '--json',
    ]);
    expect(added.stderr).toBe('');
    const created = JSON.parse(added.stdout) as { secrets: string[]; events: string[] };
    expect(created.events).toEqual(['build.*', 'deploy']);
    const post = (type: string) =>
      fetch(`${server.url}/hooks/ctl-cli`, {
        method: 'POST',
        headers: { 'x-token': created.secrets[0] ?? '', 'content-type': 'application/json' },
        body: JSON.stringify({ type }),
      }).then(async (response) => ({
        status: response.status,
        body: (await response.json()) as { status: string },
      }));
    expect(await post('build.done')).toMatchObject({ status: 202, body: { status: 'accepted' } });
    expect(await post('push')).toMatchObject({ status: 200, body: { status: 'filtered' } });
    expect((await nexus(['endpoints', 'list'])).stdout).toMatch(
      /ctl-cli\s+default\s+ctl\s+token\s+agent\s+paused\s+build\.\*,deploy/,
    );
    expect(
      (await nexus(['webhooks', 'list', '--agent', 'ctl', '--state', 'paused'])).stdout,
    ).toMatch(/ctl-cli\s+build\.done\s+paused/);
    expect((await nexus(['endpoints', 'resume', 'ctl-cli'])).stdout).toContain(
      'is resumed: 1 kept webhook back in the queue',
    );
    expect((await nexus(['endpoints', 'pause', 'ctl-cli'])).stdout).toContain('is paused');
    expect((await nexus(['endpoints', 'events', 'ctl-cli', '--clear'])).stdout).toContain(
      'delivers every event again',
    );
    expect((await nexus(['endpoints', 'notify', 'ctl-cli', 'on'])).stdout).toContain(
      'woken with a short notice',
    );
    const bad = await nexus(['endpoints', 'notify', 'ctl-cli', 'maybe']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('say on or off');
    const badEvents = await nexus(['endpoints', 'events', 'ctl-cli', '--events', 'in*valid']);
    expect(badEvents.code).toBe(2);
    expect(badEvents.stderr).toMatch(/400: .*events/);
  });

  it('lists, shows and replays queued webhooks', async () => {
    const added = await nexus([
      'endpoints',
      'add',
      '--id',
      'tok-cli',
      '--agent',
      'queue-cli',
      '--provider',
      'token',
      '--header',
      'x-token',
      '--json',
    ]);
    const secret = (JSON.parse(added.stdout) as { secrets: string[] }).secrets[0] ?? '';
    const response = await fetch(`${server.url}/hooks/tok-cli`, {
      method: 'POST',
      headers: { 'x-token': secret, 'content-type': 'application/json' },
      body: '{"type":"build.finished"}',
    });
    const { id } = (await response.json()) as { id: string };
    const listed = await nexus(['webhooks', 'list', '--agent', 'queue-cli', '--state', 'pending']);
    expect(listed.stdout).toMatch(new RegExp(`${id}\\s+tok-cli\\s+build.finished\\s+pending\\s+0`));
    expect((await nexus(['webhooks', 'show', 'queue-cli', id, '--body'])).stdout).toBe(
      '{"type":"build.finished"}',
    );
    const shown = JSON.parse((await nexus(['webhooks', 'show', 'queue-cli', id])).stdout) as {
      headers: Record<string, string>;
    };
    expect(shown.headers['x-token']).toBe('[redacted]');
    expect(JSON.stringify(shown)).not.toContain(secret);
    const replay = await nexus(['webhooks', 'replay', 'queue-cli', id]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/409: .* is pending: it is still in the queue/);
  });

  it.each<[string, string[], Record<string, string>, RegExp]>([
    [
      'an unknown provider',
      ['endpoints', 'add', '--agent', 'main', '--provider', 'carrier-pigeon'],
      {},
      /400: .*provider: must be one of github, gitlab, bitbucket/,
    ],
    ['a missing --agent', ['endpoints', 'add', '--provider', 'github'], {}, /--agent is missing/],
    [
      'an unknown endpoint',
      ['endpoints', 'disable', 'nope'],
      {},
      /404: There is no webhook endpoint nope/,
    ],
    [
      'a bad state',
      ['webhooks', 'list', '--agent', 'main', '--state', 'lost'],
      {},
      /state must be one of/,
    ],
    [
      'an unknown subcommand',
      ['endpoints', 'frobnicate'],
      {},
      /unknown endpoints command "frobnicate"/,
    ],
    [
      'a wrong key',
      ['endpoints', 'list'],
      { NEXUS_API_KEY: 'wrong' },
      /401: The API key is not valid/,
    ],
    [
      'an API that is not there',
      ['endpoints', 'list'],
      { NEXUS_URL: 'http://127.0.0.1:9' },
      /Cannot reach the Nexus API at http:\/\/127.0.0.1:9/,
    ],
  ])('refuses %s with exit code 2 and one clear line', async (_label, args, extraEnv, message) => {
    const result = await nexus(args, extraEnv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints help for each command', async () => {
    expect((await nexus(['endpoints', '--help'])).stdout).toContain(
      'nexus endpoints rotate <id> --retire <last4>',
    );
    expect((await nexus(['webhooks', '--help'])).stdout).toContain(
      'nexus webhooks replay <agent> <id>',
    );
    expect((await nexus(['--help'])).stdout).toMatch(/endpoints\s+add, list, rotate/);
  });

  it('creates, lists and revokes keys, and makes enrolment codes', async () => {
    const created = await nexus(['keys', 'create', '--role', 'worker', '--host', 'cli-laptop']);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/Created a worker key of host cli-laptop \(id [a-z2-7]{12}\)/);
    const key = /Key: (nxk_\S+)/.exec(created.stdout)?.[1] ?? '';
    const keyId = /\(id ([a-z2-7]{12})\)/.exec(created.stdout)?.[1] ?? '';
    // A worker key manages nothing.
    const answer = await fetch(`${server.url}/v1/keys`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(answer.status).toBe(403);
    const announced = await fetch(`${server.url}/v1/hosts/cli-laptop`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'CLI laptop', workerVersion: '0.3.0' }),
    });
    expect(announced.status).toBe(200);
    const hosts = await nexus(['hosts']);
    expect(hosts.stdout).toMatch(
      /^host\s+name\s+status\s+agents\s+last upload\s+last claim\s+worker/,
    );
    expect(hosts.stdout).toMatch(/cli-laptop\s+CLI laptop\s+unknown\s+-\s+never\s+never\s+0\.3\.0/);
    expect(hosts.code).toBe(0);

    const listed = await nexus(['keys', 'list']);
    expect(listed.stdout).toContain(`nxk_${keyId}_…`);
    expect(listed.stdout).not.toContain(key);
    expect(listed.stdout).toMatch(/worker\s+cli-laptop/);

    const revoked = await nexus(['keys', 'revoke', `nxk_${keyId}_…`]);
    expect(revoked.stdout).toMatch(
      new RegExp(`Revoked a worker key of host cli-laptop \\(id ${keyId}\\)`),
    );
    const after = await fetch(`${server.url}/v1/hosts`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(after.status).toBe(401);

    const enrol = await nexus(['keys', 'enrol', '--host', 'cli-new']);
    expect(enrol.stdout).toMatch(
      /nexus-worker enrol --url .* --code nxe_[a-z2-7]{12}_[a-z2-7]{24}/,
    );
    const bad = await nexus(['keys', 'create', '--role', 'worker']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/A worker key is for one host/);
  });
});
