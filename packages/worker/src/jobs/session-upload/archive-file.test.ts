import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveFile } from './archive-file.ts';

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'nexus-archive-'));
  const sessions = join(dir, 'sessions');
  await mkdir(sessions);
  return { dir, sessions, archive: join(dir, 'archive') };
}

describe('archiveFile', () => {
  it('moves a file into <archive>/<agent>/ under its own name', async () => {
    const { sessions, archive } = await setup();
    await writeFile(join(sessions, 'a.jsonl'), 'content');
    expect(await archiveFile(join(sessions, 'a.jsonl'), archive, 'main')).toBe(
      join(archive, 'main', 'a.jsonl'),
    );
    expect(existsSync(join(sessions, 'a.jsonl'))).toBe(false);
    expect(await readFile(join(archive, 'main', 'a.jsonl'), 'utf8')).toBe('content');
  });

  it('never overwrites a different file of the same name: it adds a suffix', async () => {
    const { sessions, archive } = await setup();
    await mkdir(join(archive, 'main'), { recursive: true });
    await writeFile(join(archive, 'main', 'a.jsonl'), 'older content');
    await writeFile(join(sessions, 'a.jsonl'), 'newer content');
    expect(await archiveFile(join(sessions, 'a.jsonl'), archive, 'main')).toBe(
      join(archive, 'main', 'a.jsonl.1'),
    );
    expect(await readFile(join(archive, 'main', 'a.jsonl'), 'utf8')).toBe('older content');
  });

  it('finishes a move that a crash interrupted after the link, without a second copy', async () => {
    const { sessions, archive } = await setup();
    await mkdir(join(archive, 'main'), { recursive: true });
    await writeFile(join(sessions, 'a.jsonl'), 'content');
    await link(join(sessions, 'a.jsonl'), join(archive, 'main', 'a.jsonl'));
    expect(await archiveFile(join(sessions, 'a.jsonl'), archive, 'main')).toBe(
      join(archive, 'main', 'a.jsonl'),
    );
    expect(await readdir(join(archive, 'main'))).toEqual(['a.jsonl']);
    expect(existsSync(join(sessions, 'a.jsonl'))).toBe(false);
  });

  it('treats an identical copy (an interrupted cross-device move) as already archived', async () => {
    const { sessions, archive } = await setup();
    await mkdir(join(archive, 'main'), { recursive: true });
    await writeFile(join(sessions, 'a.jsonl'), 'same bytes');
    await writeFile(join(archive, 'main', 'a.jsonl'), 'same bytes');
    await archiveFile(join(sessions, 'a.jsonl'), archive, 'main');
    expect(await readdir(join(archive, 'main'))).toEqual(['a.jsonl']);
  });
});
