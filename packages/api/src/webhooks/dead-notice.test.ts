import { describe, expect, it } from 'vitest';
import { deadNoticeFor, noticeIdFor, NOTICE_INTERVAL_MS } from './dead-notice.ts';
import { arrivingItem, type WebhookItem } from './webhook-item.ts';

const NOW = Date.parse('2026-12-02T12:30:00.000Z');
const dead: WebhookItem = {
  hostId: 'laptop',
  agentId: 'main',
  id: 'wh_dead',
  endpointId: 'gh',
  provider: 'github',
  eventType: 'issues',
  dedupeKey: 'd',
  receivedAt: '2026-12-02T12:00:00.000Z',
  contentType: 'application/json',
  bytes: 2,
  headers: {},
  delivery: { action: 'agent' },
  ...arrivingItem('', NOW, 'salt'),
  state: 'dead',
  lastError: 'x'.repeat(1000),
  lastStatus: 400,
};

describe('deadNoticeFor', () => {
  it('makes a wake notice naming the dead item, without its body, its error cut to 300 characters', async () => {
    const notice = await deadNoticeFor(dead, NOW, () => Promise.resolve(undefined));
    expect(notice).toMatchObject({
      hostId: 'laptop',
      agentId: 'main',
      endpointId: 'gh',
      provider: 'nexus',
      eventType: 'nexus.dead_webhook',
      delivery: { action: 'wake' },
      id: noticeIdFor('gh', Math.floor(NOW / NOTICE_INTERVAL_MS)),
    });
    const body = JSON.parse(Buffer.from(notice?.inlineBody ?? '', 'base64').toString()) as {
      lastError: string;
    };
    expect(body).toMatchObject({ webhookId: 'wh_dead', lastStatus: 400, eventType: 'issues' });
    expect(body.lastError).toHaveLength(300);
  });

  it('makes none while a notice of the endpoint is less than an hour old', async () => {
    const hour = Math.floor(NOW / NOTICE_INTERVAL_MS);
    const at = (id: string, receivedAt: string) => (asked: string) =>
      Promise.resolve(asked === id ? { receivedAt } : undefined);
    // One this hour: none.
    expect(
      await deadNoticeFor(dead, NOW, at(noticeIdFor('gh', hour), '2026-12-02T12:01:00.000Z')),
    ).toBeUndefined();
    // One in the hour before, 40 minutes ago: none; 70 minutes ago: a new one.
    expect(
      await deadNoticeFor(dead, NOW, at(noticeIdFor('gh', hour - 1), '2026-12-02T11:50:00.000Z')),
    ).toBeUndefined();
    expect(
      await deadNoticeFor(dead, NOW, at(noticeIdFor('gh', hour - 1), '2026-12-02T11:20:00.000Z')),
    ).toBeDefined();
    // Another endpoint's notice does not count.
    expect(
      await deadNoticeFor(dead, NOW, at(noticeIdFor('other', hour), '2026-12-02T12:01:00.000Z')),
    ).toBeDefined();
  });
});
