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

  it('fails other errors with the gateway’s own reason, keeping a 503’s Retry-After', () => {
    expect(
      classifyGatewayResponse(413, null, '{"ok":false,"error":"payload too large"}', NOW),
    ).toEqual({
      kind: 'failed',
      status: 413,
      reason: 'the gateway answered 413: payload too large',
    });
    expect(classifyGatewayResponse(503, '30', 'busy', NOW)).toEqual({
      kind: 'failed',
      status: 503,
      reason: 'the gateway answered 503: busy',
      retryAfterSeconds: 30,
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
