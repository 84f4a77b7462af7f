import { statSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateApiKey } from './generated-api-key.ts';

describe('the generated API key', () => {
  it("makes a key file that others could read its owner's only, and says it did", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-key-'));
    const path = join(dir, 'api-key');
    await writeFile(path, 'nxk_shared\n', { mode: 0o644 });
    const loaded = await loadOrCreateApiKey(dir);
    expect(loaded).toMatchObject({ key: 'nxk_shared', created: false, madePrivate: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateApiKey(dir)).toEqual({ key: 'nxk_shared', path, created: false });
  });

  it('creates a new key readable by its owner only, in a private folder', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'nexus-key-')), 'home', '.nexus');
    const created = await loadOrCreateApiKey(dir);
    expect(created.created).toBe(true);
    expect(statSync(created.path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});
