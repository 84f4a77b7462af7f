import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { padding, tarEnd, tarHeader } from './tar-entry.ts';

function archive(files: readonly { name: string; text: string }[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const file of files) {
    const bytes = Buffer.from(file.text);
    parts.push(
      tarHeader({ name: file.name, size: bytes.byteLength, mtimeMs: Date.UTC(2026, 10, 30) }),
      bytes,
      padding(bytes.byteLength),
    );
  }
  parts.push(tarEnd());
  return Buffer.concat(parts);
}

describe('tar entries', () => {
  it('make an archive that tar itself lists and extracts byte for byte, long names included', async () => {
    const long = `agents/main/sessions/${'a'.repeat(120)}-topic-7.jsonl`;
    const files = [
      { name: 'agents/main/sessions/s1.jsonl', text: '{"type":"session","id":"s1"}\n' },
      { name: long, text: `${'x'.repeat(700)}\n` },
      { name: 'agents/main/sessions/empty.jsonl', text: '' },
    ];
    const dir = await mkdtemp(join(tmpdir(), 'nexus-tar-'));
    await writeFile(join(dir, 'bundle.tar'), archive(files));
    expect(archive(files).byteLength % 512).toBe(0);
    const listed = execFileSync('tar', ['-tf', join(dir, 'bundle.tar')], { encoding: 'utf8' });
    expect(listed.trim().split('\n')).toEqual(files.map((f) => f.name));
    execFileSync('tar', ['-xf', join(dir, 'bundle.tar'), '-C', dir]);
    for (const file of files) expect(await readFile(join(dir, file.name), 'utf8')).toBe(file.text);
  });
});
