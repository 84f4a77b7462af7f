import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DRILL = fileURLToPath(new URL('../../../scripts/fault-drill.ts', import.meta.url));

describe('npm run fault-drill', () => {
  it('ends every fault case with each transcript stored exactly once and the API alive', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [DRILL], { timeout: 180_000 }, (error, out) => {
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
          stdout: out,
        });
      });
    });
    expect(stdout).toContain('Every case ended with each transcript stored exactly once.');
    expect(stdout).not.toMatch(/\| NO \|/);
    expect(code).toBe(0);
  }, 200_000);
});
