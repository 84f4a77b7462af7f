import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeImportIndex } from './import-index.ts';

describe('writeImportIndex', () => {
  it("names each restored file under a key of its own, in the sessions.json OpenClaw's import reads", async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nexus-index-'));
    const written = await writeImportIndex(folder, 'main', ['s1', 's2'], 1_796_000_000_000);
    expect(written).toEqual({ file: join(folder, 'sessions.json'), isIndex: true });
    expect(JSON.parse(await readFile(written.file, 'utf8'))).toEqual({
      'agent:main:restored:s1': {
        sessionId: 's1',
        updatedAt: 1_796_000_000_000,
        sessionFile: join(folder, 's1.jsonl'),
      },
      'agent:main:restored:s2': {
        sessionId: 's2',
        updatedAt: 1_796_000_000_000,
        sessionFile: join(folder, 's2.jsonl'),
      },
    });
  });

  it('never overwrites a sessions.json that is there: its entries go beside it', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'nexus-index-'));
    await writeFile(join(folder, 'sessions.json'), '{"agent:main:main":{"sessionId":"live"}}');
    const written = await writeImportIndex(folder, 'main', ['s1'], 0);
    expect(written).toEqual({ file: join(folder, 'sessions.nexus-restore.json'), isIndex: false });
    expect(await readFile(join(folder, 'sessions.json'), 'utf8')).toBe(
      '{"agent:main:main":{"sessionId":"live"}}',
    );
  });
});
