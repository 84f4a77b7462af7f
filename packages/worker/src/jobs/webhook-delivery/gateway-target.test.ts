import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveGateway } from './gateway-target.ts';

async function stateDirWith(openclawJson: string | undefined): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nexus-gw-'));
  if (openclawJson !== undefined) await writeFile(join(dir, 'openclaw.json'), openclawJson);
  return dir;
}

describe('finding the gateway', () => {
  it('reads port, hooks path, token and body limit from openclaw.json (JSON5)', async () => {
    const dir = await stateDirWith(`{
      // comments and trailing commas are JSON5
      gateway: { port: 19001, },
      hooks: { enabled: true, token: 'tok-123', path: '/in/', maxBodyBytes: 65536 },
    }`);
    expect(await resolveGateway({}, dir, {}, dir)).toEqual({
      hooksUrl: 'http://127.0.0.1:19001/in',
      token: 'tok-123',
      maxBodyBytes: 65536,
      source: join(dir, 'openclaw.json'),
    });
  });

  it('uses OpenClaw defaults for what is not set, and job settings over the file', async () => {
    const dir = await stateDirWith("{ hooks: { enabled: true, token: 'from-file' } }");
    expect(await resolveGateway({}, dir, {}, dir)).toMatchObject({
      hooksUrl: 'http://127.0.0.1:18789/hooks',
      maxBodyBytes: 256 * 1024,
    });
    await writeFile(join(dir, 'token'), 'from-token-file\n');
    expect(
      await resolveGateway({ url: 'http://gw.local:1/', tokenFile: 'token' }, dir, {}, dir),
    ).toMatchObject({
      hooksUrl: 'http://gw.local:1/hooks',
      token: 'from-token-file',
      source: 'the job config',
    });
  });

  it('says how to fix a missing token or disabled hooks', async () => {
    const none = await stateDirWith(undefined);
    await expect(resolveGateway({}, none, {}, none)).rejects.toThrow(
      /No OpenClaw hooks token: set hooks.enabled: true and hooks.token/,
    );
    const disabled = await stateDirWith("{ hooks: { token: 'tok' } }");
    await expect(resolveGateway({}, disabled, {}, disabled)).rejects.toThrow(
      /hooks are not enabled: set hooks.enabled: true/,
    );
    await expect(resolveGateway({ tokenFile: 'missing' }, none, {}, none)).rejects.toThrow(
      /Cannot read the gateway token file .*missing \(ENOENT\)/,
    );
  });
});
