import { describe, expect, it } from 'vitest';
import type { ClaimedWebhook } from '@nexus/core';
import { buildGatewayRequest, idempotencyKeyOf } from './gateway-request.ts';

const target = {
  hooksUrl: 'http://127.0.0.1:18789/hooks',
  token: 'tok',
  maxBodyBytes: 262144,
  source: 'test',
};
const options = {
  agentOptions: { deliver: false },
  wakeMode: 'now' as const,
  maxMessageChars: 20_000,
};
const item: ClaimedWebhook = {
  id: 'wh_abc',
  hostId: 'laptop',
  agentId: 'main',
  endpointId: 'gh-main',
  provider: 'github',
  eventType: 'issues',
  dedupeKey: 'd1',
  receivedAt: '2026-11-25T12:00:00.000Z',
  contentType: 'application/json',
  bytes: 56,
  state: 'leased',
  attempts: 1,
  replays: 0,
  action: 'agent',
  leaseId: 'lease',
  leaseUntil: '2026-11-25T12:01:00.000Z',
  delivery: { action: 'agent' },
  headers: {},
};
const body = Buffer.from('{"action":"opened","issue":{"number":3,"title":"Crash"}}');

describe('the gateway call for a webhook', () => {
  it('asks /hooks/agent for a run, with the item id as idempotency key and the configured options', () => {
    const request = buildGatewayRequest(item, body, target, options);
    expect(request.url).toBe('http://127.0.0.1:18789/hooks/agent');
    expect(request.headers.authorization).toBe('Bearer tok');
    const sent = JSON.parse(request.body) as Record<string, unknown>;
    expect(sent).toMatchObject({
      agentId: 'main',
      idempotencyKey: 'wh_abc',
      name: 'GitHub (gh-main)',
      deliver: false,
    });
    expect(sent['message']).toContain('GitHub issue #3 opened');
  });

  it('puts a system event on the main session for wake', () => {
    const request = buildGatewayRequest(
      { ...item, delivery: { action: 'wake' } },
      body,
      target,
      options,
    );
    expect(request.url).toBe('http://127.0.0.1:18789/hooks/wake');
    expect(JSON.parse(request.body)).toMatchObject({ mode: 'now', agentId: 'main' });
  });

  it('sends a mapping the original JSON bytes, and form fields as a JSON object', () => {
    const mapped = buildGatewayRequest(
      { ...item, delivery: { action: 'mapping', mapping: 'github' } },
      body,
      target,
      options,
    );
    expect(mapped.url).toBe('http://127.0.0.1:18789/hooks/github');
    expect(mapped.body).toBe(body.toString());
    expect(mapped.headers['x-nexus-event']).toBe('issues');
    const form = buildGatewayRequest(
      {
        ...item,
        contentType: 'application/x-www-form-urlencoded',
        delivery: { action: 'mapping', mapping: 'slack' },
      },
      Buffer.from('command=%2Fdeploy&text=prod'),
      target,
      options,
    );
    expect(JSON.parse(form.body)).toEqual({ command: '/deploy', text: 'prod' });
  });

  it('keeps the message under the gateway body limit', () => {
    const large = Buffer.from(JSON.stringify({ pad: 'x'.repeat(500_000) }));
    const request = buildGatewayRequest(
      item,
      large,
      { ...target, maxBodyBytes: 32 * 1024 },
      options,
    );
    expect(Buffer.byteLength(request.body)).toBeLessThan(32 * 1024);
  });
});

describe('the idempotency key', () => {
  it('is the webhook id, and a replay adds its number (OpenClaw drops a key it saw in 5 minutes)', () => {
    expect(idempotencyKeyOf({ id: 'wh_abc', replays: 0 })).toBe('wh_abc');
    expect(idempotencyKeyOf({ id: 'wh_abc', replays: 2 })).toBe('wh_abc:replay-2');
    const replayed = JSON.parse(
      buildGatewayRequest({ ...item, replays: 1 }, body, target, options).body,
    ) as { idempotencyKey: string; message: string };
    expect(replayed.idempotencyKey).toBe('wh_abc:replay-1');
    expect(replayed.message).toContain('This is a replay (number 1)');
  });
});
