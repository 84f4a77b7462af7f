import { tmpdir } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { UsageRecord } from '@nexus/core';
import { describe, expect, it } from 'vitest';
import { LedgerWriter, readLedger } from './usage-ledger.ts';

function record(entryId: string, overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    entryId,
    day: '2026-02-03',
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    input: 3,
    output: 61,
    cacheRead: 11840,
    cacheWrite: 2210,
    totalTokens: 14114,
    costUsd: 0.0127635,
    ...overrides,
  };
}

async function collect(source: AsyncIterable<UsageRecord>): Promise<UsageRecord[]> {
  const out: UsageRecord[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('LedgerWriter', () => {
  const records = [
    record('e5f6a7b8'),
    // Strings JSON must escape, numbers whose JSON is not plain digits.
    record('quote " backslash \\ newline \n tab \t nul \u0000 é 🦞', {
      provider: 'p"rovider',
      model: 'model\\x',
      day: 'unknown',
    }),
    record('big', { input: 1e21, output: 5e-7, costUsd: 1.5e-10, totalTokens: 2 ** 53 + 2 }),
  ];

  it('writes each record as the JSON of its row, and reads them back unchanged', async () => {
    const ledger = new LedgerWriter(tmpdir());
    for (const item of records) ledger.add(item);
    const text = ledger.inline();
    expect(text).toBe(
      records
        .map(
          (r) =>
            `${JSON.stringify([r.entryId, r.day, r.provider, r.model, r.input, r.output, r.cacheRead, r.cacheWrite, r.totalTokens, r.costUsd])}\n`,
        )
        .join(''),
    );
    expect(await collect(readLedger([new TextEncoder().encode(text)]))).toEqual(records);
    await ledger.dispose();
  });

  it('spills a large ledger to its temp file and reads it back in order', async () => {
    const ledger = new LedgerWriter(tmpdir());
    const many = Array.from({ length: 2000 }, (_, i) =>
      record(`entry-${String(i)}`, { input: i, model: i % 2 === 0 ? 'a' : 'b"' }),
    );
    for (const item of many) {
      ledger.add(item);
      await ledger.drain();
    }
    expect(ledger.inline()).toBeUndefined();
    const finished = await ledger.finish();
    if (finished instanceof Uint8Array) throw new Error('a large ledger is a file');
    const back = await collect(readLedger([await readFile(finished.file)]));
    expect(back).toEqual(many);
    expect(ledger.usage().map((b) => [b.model, b.messages])).toEqual([
      ['a', 1000],
      ['b"', 1000],
    ]);
    await ledger.dispose();
  });
});
