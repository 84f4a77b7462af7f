import { describe, expect, it } from 'vitest';
import { classifyGatewayResponse, unreachable } from './gateway-outcome.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');

describe('what a gateway answer means for the queue', () => {
  it('acknowledges any 2xx', () => {
    expect(classifyGatewayResponse(200, null, '{"ok":true}', NOW)).toEqual({
      kind: 'delivered',
      status: 200,
    });
    expect(classifyGatewayResponse(202, null, '', NOW)).toEqual({ kind: 'delivered', status: 202 });
  });

  it('releases on 429 without counting, honouring Retry-After in seconds or as a date', () => {
    expect(classifyGatewayResponse(429, '12', '', NOW)).toMatchObject({
      kind: 'released',
      retryAfterSeconds: 12,
      pause: 'busy',
    });
    expect(
      classifyGatewayResponse(429, new Date(NOW + 90_000).toUTCString(), '', NOW),
    ).toMatchObject({ kind: 'released', retryAfterSeconds: 90 });
    expect(classifyGatewayResponse(429, null, '', NOW)).toMatchObject({ retryAfterSeconds: 5 });
  });

  it('fails what may pass (409 session busy, 500), counted, with the gateway’s own reason', () => {
    expect(classifyGatewayResponse(409, '7', '{"ok":false,"error":"session busy"}', NOW)).toEqual({
      kind: 'failed',
      status: 409,
      reason: 'the gateway answered 409: session busy',
      retryAfterSeconds: 7,
    });
    expect(classifyGatewayResponse(500, null, 'boom', NOW)).toEqual({
      kind: 'failed',
      status: 500,
      reason: 'the gateway answered 500: boom',
    });
  });

  // One row per answer OpenClaw's /hooks gives (docs/WEBHOOKS.md, "What the gateway's answers mean").
  it.each([
    [200, 'delivered', undefined],
    [202, 'delivered', undefined],
    [400, 'rejected', /refused the request \(400: bad json\); not retried/],
    [401, 'released', /refused the hooks token/],
    [403, 'released', /refused the hooks token/],
    [404, 'rejected', /no such hook \(404: bad json\).*hooks\.mappings/],
    [409, 'failed', /answered 409/],
    [413, 'too_large', /hooks\.maxBodyBytes/],
    [429, 'released', /busy \(429/],
    [500, 'failed', /answered 500/],
    [502, 'released', /not ready \(502/],
    [503, 'released', /not ready \(503/],
    [504, 'released', /not ready \(504/],
  ] as const)('answer %i is %s', (status, kind, reason) => {
    const outcome = classifyGatewayResponse(status, null, '{"ok":false,"error":"bad json"}', NOW);
    expect(outcome.kind).toBe(kind);
    if (reason !== undefined) expect('reason' in outcome ? outcome.reason : '').toMatch(reason);
  });

  it('waits as long as a 503 asks before sending again, not counting it', () => {
    expect(classifyGatewayResponse(503, '30', 'busy', NOW)).toEqual({
      kind: 'released',
      status: 503,
      reason: 'the gateway is not ready (503: busy)',
      retryAfterSeconds: 30,
      pause: 'busy',
    });
  });

  it('pauses on a refused token instead of burning attempts', () => {
    expect(classifyGatewayResponse(401, null, '', NOW)).toMatchObject({
      kind: 'released',
      pause: 'unauthorized',
      reason: expect.stringContaining('hooks.token') as unknown,
    });
  });

  it('releases when the gateway cannot be reached', () => {
    expect(unreachable('connect ECONNREFUSED 127.0.0.1:18789')).toMatchObject({
      kind: 'released',
      pause: 'down',
      status: 0,
    });
  });
});
