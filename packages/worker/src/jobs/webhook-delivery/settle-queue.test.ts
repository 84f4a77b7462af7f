import { describe, expect, it } from 'vitest';
import type { WebhookSettlement } from '@nexus/core';
import { SettleQueue } from './settle-queue.ts';

const result = (id: string): WebhookSettlement => ({
  hostId: 'laptop',
  agentId: 'main',
  id,
  leaseId: `lease-${id}`,
  outcome: 'delivered',
  status: 200,
});

/** A report the test answers when it wants. */
function slowApi() {
  const reports: string[][] = [];
  const answers: (() => void)[] = [];
  return {
    reports,
    send: (batch: readonly WebhookSettlement[]) => {
      reports.push(batch.map((settlement) => settlement.id));
      return new Promise<void>((resolve) => answers.push(resolve));
    },
    answer: async () => {
      answers.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe('SettleQueue', () => {
  it('sends a result at once, and those that come in meanwhile together in the next report', async () => {
    const api = slowApi();
    const queue = new SettleQueue(api.send, 10);
    queue.add(result('a'));
    expect(api.reports).toEqual([['a']]);
    queue.add(result('b'));
    queue.add(result('c'));
    expect(api.reports).toEqual([['a']]);
    expect(queue.unreported).toBe(3);
    await api.answer();
    expect(api.reports).toEqual([['a'], ['b', 'c']]);
    const drained = queue.drain();
    await api.answer();
    await drained;
    expect(queue.unreported).toBe(0);
  });

  it('holds up the caller while `limit` results are unreported', async () => {
    const api = slowApi();
    const queue = new SettleQueue(api.send, 2);
    queue.add(result('a'));
    let roomy = false;
    void queue.room().then(() => (roomy = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(roomy).toBe(true);
    queue.add(result('b'));
    let waited = false;
    const room = queue.room().then(() => (waited = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(waited).toBe(false);
    await api.answer();
    await room;
    expect(waited).toBe(true);
  });

  it('sends at most 100 results per report, the API’s limit', async () => {
    const sizes: number[] = [];
    const queue = new SettleQueue((batch) => {
      sizes.push(batch.length);
      return Promise.resolve();
    }, 1000);
    for (let n = 0; n < 250; n += 1) queue.add(result(String(n)));
    await queue.drain();
    expect(sizes).toEqual([1, 100, 100, 49]);
  });
});
