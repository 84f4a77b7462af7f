import {
  createHash,
  createHmac,
  generateKeyPairSync,
  randomBytes,
  sign as signWith,
} from 'node:crypto';
import twilio from 'twilio';
import { publicUrlOf } from './ingest-webhook.ts';
import { sign as signGithub } from '@octokit/webhooks-methods';
import Stripe from 'stripe';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  REPLAY_WINDOW_SECONDS,
  verifySignature,
  type WebhookProvider,
} from './verify-signature.ts';

/** The reference time of every case. */
const NOW = 1_795_600_000;
const body = JSON.stringify({ action: 'opened', number: 42, note: 'ünïcode' });
const bytes = new TextEncoder().encode(body);
const stripe = new Stripe('sk_test_not_used');

function verify(
  provider: WebhookProvider,
  headers: Record<string, string>,
  secrets: string[],
  payload: Uint8Array = bytes,
  nowSeconds = NOW,
) {
  return verifySignature(provider, {
    headers: new Headers(headers),
    body: payload,
    secrets,
    nowSeconds,
  });
}

const tampered = new TextEncoder().encode(body.replace('42', '43'));

describe('GitHub signatures (checked against @octokit/webhooks-methods)', () => {
  it('accepts the official signature, with any of several secrets', async () => {
    const signature = await signGithub('new-secret', body);
    expect(
      verify({ type: 'github' }, { 'x-hub-signature-256': signature }, ['new-secret']),
    ).toEqual({ ok: true });
    expect(
      verify({ type: 'github' }, { 'x-hub-signature-256': signature }, [
        'old-secret',
        'new-secret',
      ]),
    ).toEqual({ ok: true });
  });

  it.each<[string, () => Promise<[Record<string, string>, string[], Uint8Array]>, RegExp]>([
    [
      'a wrong secret',
      async () => [{ 'x-hub-signature-256': await signGithub('other', body) }, ['secret'], bytes],
      /does not match/,
    ],
    [
      'a tampered body',
      async () => [
        { 'x-hub-signature-256': await signGithub('secret', body) },
        ['secret'],
        tampered,
      ],
      /does not match/,
    ],
    ['no header', () => Promise.resolve([{}, ['secret'], bytes]), /missing X-Hub-Signature-256/],
    [
      'a malformed header',
      () => Promise.resolve([{ 'x-hub-signature-256': 'sha1=abc' }, ['secret'], bytes]),
      /not "sha256=<64 hex>"/,
    ],
  ])('refuses %s, saying why', async (_label, make, reason) => {
    const [headers, secrets, payload] = await make();
    const result = verify({ type: 'github' }, headers, secrets, payload);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });
});

describe('Stripe signatures (checked against stripe.webhooks.generateTestHeaderString)', () => {
  const header = (secret: string, timestamp = NOW, payload = body) => ({
    'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }),
  });

  it('accepts the official header, and any of several secrets', () => {
    expect(verify({ type: 'stripe' }, header('whsec_a'), ['whsec_a'])).toEqual({ ok: true });
    expect(verify({ type: 'stripe' }, header('whsec_b'), ['whsec_a', 'whsec_b'])).toEqual({
      ok: true,
    });
  });

  it('accepts a header with several v1 signatures of which one is valid', () => {
    const official = header('whsec_a')['stripe-signature'];
    const withDecoy = `${official},v1=${'0'.repeat(64)}`.replace(
      /^t=(\d+),/,
      `t=$1,v1=${'f'.repeat(64)},`,
    );
    expect(verify({ type: 'stripe' }, { 'stripe-signature': withDecoy }, ['whsec_a'])).toEqual({
      ok: true,
    });
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a wrong secret', header('whsec_other'), /no v1 signature matches/],
    ['an expired timestamp', header('whsec_a', NOW - REPLAY_WINDOW_SECONDS - 1), /s old/],
    [
      'a timestamp from the future',
      header('whsec_a', NOW + REPLAY_WINDOW_SECONDS + 1),
      /in the future/,
    ],
    ['no timestamp', { 'stripe-signature': `v1=${'a'.repeat(64)}` }, /no t=/],
    ['no header', {}, /missing Stripe-Signature/],
  ])('refuses %s', (_label, headers, reason) => {
    const result = verify({ type: 'stripe' }, headers, ['whsec_a']);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('refuses a tampered body', () => {
    expect(verify({ type: 'stripe' }, header('whsec_a'), ['whsec_a'], tampered).ok).toBe(false);
  });
});

describe('Standard Webhooks signatures (checked against the standardwebhooks reference library)', () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const rotated = `whsec_${randomBytes(24).toString('base64')}`;
  const headers = (key: string, at = NOW, id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W') => ({
    'webhook-id': id,
    'webhook-timestamp': String(at),
    'webhook-signature': new Webhook(key).sign(id, new Date(at * 1000), body),
  });

  it('accepts the reference signature and rotated secrets', () => {
    expect(verify({ type: 'standard' }, headers(secret), [secret])).toEqual({ ok: true });
    expect(verify({ type: 'standard' }, headers(rotated), [secret, rotated])).toEqual({ ok: true });
  });

  it('accepts several space-separated signatures of which one is valid', () => {
    const h = headers(secret);
    const several = {
      ...h,
      'webhook-signature': `v1,${randomBytes(32).toString('base64')} ${h['webhook-signature']}`,
    };
    expect(verify({ type: 'standard' }, several, [secret])).toEqual({ ok: true });
  });

  it('agrees with the reference verifier on what it accepts', () => {
    const h = headers(secret, Math.floor(Date.now() / 1000));
    expect(() => new Webhook(secret).verify(body, h)).not.toThrow();
    expect(verify({ type: 'standard' }, h, [secret], bytes, Math.floor(Date.now() / 1000))).toEqual(
      { ok: true },
    );
  });

  it.each<[string, () => Record<string, string>, RegExp]>([
    ['a wrong secret', () => headers(rotated), /no v1 signature matches/],
    ['an expired timestamp', () => headers(secret, NOW - 301), /s old/],
    ['a future timestamp', () => headers(secret, NOW + 301), /in the future/],
    [
      'a changed id',
      () => ({ ...headers(secret), 'webhook-id': 'msg_other' }),
      /no v1 signature matches/,
    ],
    ['missing headers', () => ({}), /missing webhook-id/],
  ])('refuses %s', (_label, make, reason) => {
    const result = verify({ type: 'standard' }, make(), [secret]);
    expect(!result.ok && result.reason).toMatch(reason);
  });
});

describe("Slack signatures (computed from Slack's documented formula: v0:<ts>:<body>)", () => {
  const slackHeaders = (secret: string, ts = NOW, payload = body) => ({
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': `v0=${createHmac('sha256', secret)
      .update(`v0:${String(ts)}:${payload}`)
      .digest('hex')}`,
  });
  const form = 'token=x&team_id=T1&command=%2Fdeploy&text=prod';

  it('accepts a slash command body (form-encoded) and rotated secrets', () => {
    expect(
      verify(
        { type: 'slack' },
        slackHeaders('s2', NOW, form),
        ['s1', 's2'],
        new TextEncoder().encode(form),
      ),
    ).toEqual({ ok: true });
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a wrong secret', slackHeaders('other'), /does not match/],
    ['a stale timestamp (5 minutes)', slackHeaders('s1', NOW - 301), /s old/],
    ['a future timestamp', slackHeaders('s1', NOW + 301), /in the future/],
    ['no timestamp', { 'x-slack-signature': `v0=${'a'.repeat(64)}` }, /missing/],
  ])('refuses %s', (_label, headers, reason) => {
    const result = verify({ type: 'slack' }, headers, ['s1']);
    expect(!result.ok && result.reason).toMatch(reason);
  });
});

describe('generic HMAC and shared-token endpoints', () => {
  const digest = (secret: string, payload: Uint8Array = bytes) =>
    createHmac('sha256', secret).update(payload).digest('hex');

  it('checks an HMAC hex digest in the configured header, with or without sha256=', () => {
    const provider: WebhookProvider = { type: 'hmac', header: 'x-signature' };
    expect(verify(provider, { 'x-signature': digest('k') }, ['k'])).toEqual({ ok: true });
    expect(verify(provider, { 'x-signature': `sha256=${digest('k')}` }, ['k'])).toEqual({
      ok: true,
    });
    expect(verify(provider, { 'x-signature': digest('k') }, ['k'], tampered).ok).toBe(false);
    expect(verify(provider, { 'x-other': digest('k') }, ['k'])).toEqual({
      ok: false,
      reason: 'missing x-signature header',
    });
  });

  it('checks a shared token in the configured header', () => {
    const provider: WebhookProvider = { type: 'token', header: 'x-token' };
    expect(verify(provider, { 'x-token': 'tok-2' }, ['tok-1', 'tok-2'])).toEqual({ ok: true });
    expect(verify(provider, { 'x-token': 'tok-3' }, ['tok-1', 'tok-2']).ok).toBe(false);
    expect(verify(provider, { 'x-token': 'tok' }, ['tok-1']).ok).toBe(false);
  });

  it('refuses everything for an endpoint without a secret', () => {
    expect(verify({ type: 'github' }, {}, [])).toEqual({
      ok: false,
      reason: 'the endpoint has no secret configured',
    });
  });
});

/**
 * The providers that share a scheme (one row each in `provider-presets.ts`). npm has no signing
 * library for them that runs here, so each signature is made from the provider's documented recipe
 * with node:crypto directly, not through the code under test.
 */
describe("presets: an HMAC of the body, or a token, in the provider's header", () => {
  const hex = (secret: string, payload: Uint8Array = bytes) =>
    createHmac('sha256', secret).update(payload).digest('hex');
  const b64 = (secret: string, payload: Uint8Array = bytes) =>
    createHmac('sha256', secret).update(payload).digest('base64');
  const linearBody = (atMs: number) =>
    new TextEncoder().encode(
      JSON.stringify({ action: 'create', type: 'Issue', webhookTimestamp: atMs }),
    );

  const cases: {
    provider: WebhookProvider;
    sign: (secret: string, payload: Uint8Array) => Record<string, string>;
    payload?: Uint8Array;
  }[] = [
    {
      provider: { type: 'bitbucket' },
      sign: (k, p) => ({ 'x-hub-signature': `sha256=${hex(k, p)}` }),
    },
    { provider: { type: 'shopify' }, sign: (k, p) => ({ 'x-shopify-hmac-sha256': b64(k, p) }) },
    { provider: { type: 'sentry' }, sign: (k, p) => ({ 'sentry-hook-signature': hex(k, p) }) },
    {
      provider: { type: 'meta' },
      sign: (k, p) => ({ 'x-hub-signature-256': `sha256=${hex(k, p)}` }),
    },
    {
      provider: { type: 'pagerduty' },
      sign: (k, p) => ({ 'x-pagerduty-signature': `v1=${hex(k, p)}` }),
    },
    {
      provider: { type: 'linear' },
      sign: (k, p) => ({ 'linear-signature': hex(k, p) }),
      payload: linearBody(NOW * 1000 - 5_000),
    },
  ];

  it.each(cases)('$provider.type: accepts its signature, any secret, refuses the rest', (c) => {
    const payload = c.payload ?? bytes;
    expect(verify(c.provider, c.sign('k2', payload), ['k1', 'k2'], payload)).toEqual({ ok: true });
    expect(verify(c.provider, c.sign('other', payload), ['k1'], payload)).toEqual({
      ok: false,
      reason: 'signature does not match any secret',
    });
    const changed = new Uint8Array(payload);
    changed[changed.length - 2] = (changed[changed.length - 2] ?? 0) ^ 0x01;
    expect(verify(c.provider, c.sign('k1', payload), ['k1'], changed).ok).toBe(false);
    const missing = verify(c.provider, {}, ['k1'], payload);
    expect(!missing.ok && missing.reason).toMatch(/^missing \S+ header$/);
    const [name] = Object.keys(c.sign('k1', payload));
    const malformed = verify(c.provider, { [name ?? '']: 'nonsense' }, ['k1'], payload);
    expect(!malformed.ok && malformed.reason).toMatch(/is not "/);
  });

  it('pagerduty: any of several v1 signatures (a rotation)', () => {
    const header = `v1=${hex('old')},v1=${hex('new')}`;
    expect(verify({ type: 'pagerduty' }, { 'x-pagerduty-signature': header }, ['new'])).toEqual({
      ok: true,
    });
    expect(verify({ type: 'pagerduty' }, { 'x-pagerduty-signature': header }, ['neither']).ok).toBe(
      false,
    );
  });

  it('linear: refuses a delivery whose webhookTimestamp is over a minute off, or missing', () => {
    const stale = linearBody(NOW * 1000 - 61_000);
    const result = verify(
      { type: 'linear' },
      { 'linear-signature': hex('k', stale) },
      ['k'],
      stale,
    );
    expect(result).toEqual({
      ok: false,
      reason: 'webhookTimestamp is 61 s old; more than 60 s is refused as a possible replay',
    });
    const none = verify({ type: 'linear' }, { 'linear-signature': hex('k') }, ['k']);
    expect(!none.ok && none.reason).toMatch(/no webhookTimestamp/);
  });

  it('gitlab: the secret token itself in X-Gitlab-Token', () => {
    expect(verify({ type: 'gitlab' }, { 'x-gitlab-token': 'tok-2' }, ['tok-1', 'tok-2'])).toEqual({
      ok: true,
    });
    expect(verify({ type: 'gitlab' }, { 'x-gitlab-token': 'tok-3' }, ['tok-2']).ok).toBe(false);
    expect(verify({ type: 'gitlab' }, {}, ['tok-2'])).toEqual({
      ok: false,
      reason: 'missing X-Gitlab-Token header',
    });
  });

  it.each(['svix', 'resend', 'clerk'] as const)(
    '%s: Standard Webhooks (signed by the standardwebhooks reference library)',
    (type) => {
      const secret = `whsec_${randomBytes(24).toString('base64')}`;
      const id = 'msg_2b';
      const headers = {
        'webhook-id': id,
        'webhook-timestamp': String(NOW),
        'webhook-signature': new Webhook(secret).sign(id, new Date(NOW * 1000), body),
      };
      expect(verify({ type }, headers, [secret])).toEqual({ ok: true });
      expect(verify({ type }, headers, [`whsec_${randomBytes(24).toString('base64')}`]).ok).toBe(
        false,
      );
    },
  );
});

describe('presets with handshakes: Zoom, Twitch, Discord (signed per their docs with node:crypto)', () => {
  it('zoom: v0=<hex> over v0:<x-zm-request-timestamp>:<body>, within 5 minutes', () => {
    const sign = (secret: string, at = NOW) => ({
      'x-zm-request-timestamp': String(at),
      'x-zm-signature': `v0=${createHmac('sha256', secret).update(`v0:${at}:${body}`).digest('hex')}`,
    });
    expect(verify({ type: 'zoom' }, sign('k'), ['k'])).toEqual({ ok: true });
    expect(verify({ type: 'zoom' }, sign('x'), ['k']).ok).toBe(false);
    const old = verify({ type: 'zoom' }, sign('k', NOW - REPLAY_WINDOW_SECONDS - 1), ['k']);
    expect(!old.ok && old.reason).toMatch(/possible replay/);
  });

  it('twitch: sha256=<hex> over message id + timestamp + body, within 10 minutes', () => {
    const sign = (secret: string, at = new Date(NOW * 1000).toISOString()) => ({
      'twitch-eventsub-message-id': 'e76c6bd4-55c9-4987',
      'twitch-eventsub-message-timestamp': at,
      'twitch-eventsub-message-signature': `sha256=${createHmac('sha256', secret)
        .update(`e76c6bd4-55c9-4987${at}${body}`)
        .digest('hex')}`,
    });
    expect(verify({ type: 'twitch' }, sign('k'), ['k'])).toEqual({ ok: true });
    expect(verify({ type: 'twitch' }, sign('x'), ['k']).ok).toBe(false);
    const old = verify({ type: 'twitch' }, sign('k', new Date((NOW - 601) * 1000).toISOString()), [
      'k',
    ]);
    expect(!old.ok && old.reason).toMatch(/601 s off/);
  });

  it('discord: Ed25519 over timestamp + body with the public key; refuses a wrong key or body', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
    const stamp = String(NOW);
    const sign = (payload: Uint8Array = bytes) => ({
      'x-signature-timestamp': stamp,
      'x-signature-ed25519': signWith(
        null,
        Buffer.concat([Buffer.from(stamp), payload]),
        privateKey,
      ).toString('hex'),
    });
    expect(verify({ type: 'discord' }, sign(), [raw])).toEqual({ ok: true });
    expect(verify({ type: 'discord' }, sign(), [raw], tampered).ok).toBe(false);
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
    expect(verify({ type: 'discord' }, sign(), [other.subarray(-32).toString('hex')]).ok).toBe(
      false,
    );
    const noKey = verify({ type: 'discord' }, sign(), ['not-a-public-key']);
    expect(!noKey.ok && noKey.reason).toMatch(/no Ed25519 public key/);
  });
});

describe('Twilio signatures (made by the twilio library)', () => {
  const token = '12345abcdef-auth-token';
  const url = 'https://nexus.example.com/hooks/twilio?foo=bar';
  const params = {
    To: '+14155550100',
    From: '+14155550199',
    Body: 'Hi, ünïcode & more',
    MessageSid: 'SM1',
  };
  const form = new TextEncoder().encode(new URLSearchParams(params).toString());
  const formHeaders = (signature: string) => ({
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature': signature,
  });
  const check = (
    headers: Record<string, string>,
    payload: Uint8Array,
    at: string,
    secrets = [token],
  ) =>
    verifySignature(
      { type: 'twilio' },
      { headers: new Headers(headers), body: payload, secrets, nowSeconds: NOW, url: at },
    );

  it('accepts a form POST signed over the URL and the sorted parameters', () => {
    const signature = twilio.getExpectedTwilioSignature(token, url, params);
    expect(check(formHeaders(signature), form, url)).toEqual({ ok: true });
    expect(check(formHeaders(signature), form, url, ['other-token-000'])).toMatchObject({
      ok: false,
    });
    // The URL matters: a proxy in front changes what the API sees.
    const behindProxy = check(
      formHeaders(signature),
      form,
      'http://10.0.0.5:7420/hooks/twilio?foo=bar',
    );
    expect(!behindProxy.ok && behindProxy.reason).toMatch(/NEXUS_PUBLIC_URL/);
    const changed = new TextEncoder().encode(
      new URLSearchParams({ ...params, Body: 'changed' }).toString(),
    );
    expect(check(formHeaders(signature), changed, url).ok).toBe(false);
  });

  it('accepts a JSON body whose SHA-256 the signed URL carries, and no other body', () => {
    const json = new TextEncoder().encode(JSON.stringify({ event: 'x' }));
    const sha = createHash('sha256').update(json).digest('hex');
    const signedUrl = `https://nexus.example.com/hooks/twilio?bodySHA256=${sha}`;
    const signature = twilio.getExpectedTwilioSignature(token, signedUrl, {});
    const headers = { 'content-type': 'application/json', 'x-twilio-signature': signature };
    expect(check(headers, json, signedUrl)).toEqual({ ok: true });
    expect(check(headers, tampered, signedUrl)).toEqual({
      ok: false,
      reason: 'bodySHA256 does not match the body',
    });
  });
});

describe('the URL a sender called', () => {
  it('is the request URL, or its path and query on the configured public address', () => {
    const at = 'http://10.0.0.5:7420/hooks/twilio?bodySHA256=ab';
    expect(publicUrlOf(at, undefined)).toBe(at);
    expect(publicUrlOf(at, 'https://nexus.example.com')).toBe(
      'https://nexus.example.com/hooks/twilio?bodySHA256=ab',
    );
    expect(publicUrlOf(at, 'https://example.com/nexus/')).toBe(
      'https://example.com/nexus/hooks/twilio?bodySHA256=ab',
    );
  });
});
