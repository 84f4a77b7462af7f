import { describe, expect, it } from 'vitest';
import { acceptsEvent, type Endpoint } from './endpoint.ts';
import { applyEndpointPatch } from './endpoint-patch.ts';

const endpoint: Endpoint = {
  id: 'gh',
  hostId: 'laptop',
  agentId: 'main',
  provider: { type: 'github' },
  secrets: ['first-secret-aaaa'],
  action: { type: 'agent' },
  template: 'old {{event}}',
  enabled: true,
  createdAt: '2026-11-25T12:00:00.000Z',
};
const fresh = () => 'generated-secret-zzzz';

describe('applyEndpointPatch', () => {
  it('rotates: adds a generated secret, then removes the old one by its last characters', () => {
    const added = applyEndpointPatch(endpoint, { addSecret: true }, fresh);
    expect(added.addedSecret).toBe('generated-secret-zzzz');
    expect(added.endpoint.secrets).toEqual(['first-secret-aaaa', 'generated-secret-zzzz']);
    const removed = applyEndpointPatch(added.endpoint, { removeSecret: '…aaaa' }, fresh);
    expect(removed.endpoint.secrets).toEqual(['generated-secret-zzzz']);
    expect(removed.addedSecret).toBeUndefined();
  });

  it('refuses a sixth secret, the last secret going, and an ambiguous or unknown suffix', () => {
    const five = {
      ...endpoint,
      secrets: ['s1-xxxxxxxx', 's2-xxxxxxxx', 's3-xx', 's4-yy', 's5-zz'],
    };
    expect(() => applyEndpointPatch(five, { addSecret: 'another-secret' })).toThrow(
      /5 secrets already/,
    );
    expect(() => applyEndpointPatch(endpoint, { removeSecret: 'aaaa' })).toThrow(/last secret/);
    expect(() => applyEndpointPatch(five, { removeSecret: 'xxxx' })).toThrow(/2 secrets end in/);
    expect(() => applyEndpointPatch(five, { removeSecret: 'qqqq' })).toThrow(/No secret/);
  });

  it('sets, keeps or clears the template, and enables or disables', () => {
    expect(applyEndpointPatch(endpoint, {}).endpoint.template).toBe('old {{event}}');
    expect(applyEndpointPatch(endpoint, { template: 'new' }).endpoint.template).toBe('new');
    expect('template' in applyEndpointPatch(endpoint, { template: null }).endpoint).toBe(false);
    expect(applyEndpointPatch(endpoint, { enabled: false }).endpoint.enabled).toBe(false);
  });

  it('sets and clears an event filter (without repeats), pauses and resumes, turns notices on and off', () => {
    const filtered = applyEndpointPatch(endpoint, {
      events: ['issues', 'push', 'issues'],
    }).endpoint;
    expect(filtered.events).toEqual(['issues', 'push']);
    expect(applyEndpointPatch(filtered, { enabled: false }).endpoint.events).toEqual([
      'issues',
      'push',
    ]);
    expect(applyEndpointPatch(filtered, { events: null }).endpoint).not.toHaveProperty('events');
    const paused = applyEndpointPatch(endpoint, { paused: true, notifyDead: true }).endpoint;
    expect(paused).toMatchObject({ paused: true, notifyDead: true });
    const resumed = applyEndpointPatch(paused, { paused: false }).endpoint;
    expect(resumed).not.toHaveProperty('paused');
    expect(resumed.notifyDead).toBe(true);
  });
});

describe('acceptsEvent', () => {
  it('takes every event without a filter, exact names, and prefixes ending in *', () => {
    expect(acceptsEvent({}, 'anything')).toBe(true);
    const filter = { events: ['issues', 'invoice.*', 'pull_request*'] };
    expect(acceptsEvent(filter, 'issues')).toBe(true);
    expect(acceptsEvent(filter, 'issues_comment')).toBe(false);
    expect(acceptsEvent(filter, 'Issues')).toBe(false);
    expect(acceptsEvent(filter, 'invoice.paid')).toBe(true);
    expect(acceptsEvent(filter, 'invoice')).toBe(false);
    expect(acceptsEvent(filter, 'pull_request_review')).toBe(true);
    expect(acceptsEvent({ events: ['*'] }, 'x')).toBe(true);
  });
});
