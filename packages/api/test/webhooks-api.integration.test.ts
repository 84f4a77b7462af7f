import { createHmac, generateKeyPairSync, sign as signWith } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import pino from 'pino';
import { describe, expect, inject, it } from 'vitest';
import type { NexusApp } from '@nexus/api';
import type { Storage } from '@nexus/core';
import { ApiKeys } from '../src/http/api-keys.ts';
import { createApp } from '../src/http/create-app.ts';
import { API_KEY, NOW, backends, useBackend } from '../src/testing/api-harness.ts';

const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
const nowSeconds = Math.floor(NOW.getTime() / 1000);

async function createEndpoint(app: NexusApp, body: Record<string, unknown>) {
  const response = await app.request('/v1/endpoints', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      id: string;
      secrets: string[];
      url: string;
      error?: { code: string; message: string };
    },
  };
}

/** The stored rows of an agent's webhooks (endpoints without a host serve the default host). */
async function storedItems(storage: Storage, agentId: string) {
  return (await storage.tables.query('webhooks', `default~${agentId}`)).items;
}

describe.each(backends(inject('azuriteConnectionString')))(
  'webhook endpoints and ingestion on $name storage',
  (backend) => {
    let storage: Storage;
    let app: NexusApp;
    useBackend(backend, (opened) => ({ storage, app } = opened));

    it('creates an endpoint, shows its secret once, and never again', async () => {
      const created = await createEndpoint(app, {
        id: 'gh-main',
        agentId: 'hooks',
        provider: 'github',
      });
      expect(created.status).toBe(201);
      expect(created.body.url).toBe('/hooks/gh-main');
      expect(created.body.secrets[0]?.length).toBeGreaterThan(20);
      const listed = (await (await app.request('/v1/endpoints', { headers: auth })).json()) as {
        endpoints: { id: string; secrets: string[] }[];
      };
      const shown = listed.endpoints.find((e) => e.id === 'gh-main');
      expect(shown?.secrets).toEqual([`…${created.body.secrets[0]?.slice(-4) ?? ''}`]);
      expect(
        (await createEndpoint(app, { id: 'gh-main', agentId: 'hooks', provider: 'github' })).status,
      ).toBe(409);
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      [
        'an unknown provider',
        { agentId: 'a', provider: 'carrier-pigeon' },
        /provider: must be one of github, gitlab, bitbucket, shopify/,
      ],
      ['an hmac endpoint without its header', { agentId: 'a', provider: 'hmac' }, /needs "header"/],
      [
        'a mapping action without a name',
        { agentId: 'a', provider: 'github', action: 'mapping' },
        /needs "mapping"/,
      ],
      ['a short secret', { agentId: 'a', provider: 'github', secrets: ['short'] }, /at least 8/],
      ['an unsafe agent id', { agentId: '../x', provider: 'github' }, /agent id/],
      ['an unknown field', { agentId: 'a', provider: 'github', secert: 'x' }, /secert/],
    ])('refuses to create an endpoint with %s', async (_label, body, message) => {
      const created = await createEndpoint(app, body);
      expect(created.status).toBe(400);
      expect(created.body.error?.message).toMatch(message);
    });

    it('accepts a signed GitHub delivery once, and a redelivery as a duplicate that stores nothing', async () => {
      const { body: endpoint } = await createEndpoint(app, {
        id: 'gh-dup',
        agentId: 'hooks-dup',
        provider: 'github',
      });
      const payload = JSON.stringify({ action: 'opened', pull_request: { number: 7 } });
      const headers = {
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        'x-hub-signature-256': await signGithub(endpoint.secrets[0] ?? '', payload),
      };
      const first = await app.request('/hooks/gh-dup', { method: 'POST', headers, body: payload });
      expect(first.status).toBe(202);
      const accepted = (await first.json()) as { id: string; status: string };
      expect(accepted.status).toBe('accepted');
      const again = await app.request('/hooks/gh-dup', { method: 'POST', headers, body: payload });
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ id: accepted.id, status: 'duplicate' });
      const items = await storedItems(storage, 'hooks-dup');
      expect(items).toHaveLength(1);
      expect(items[0]?.properties).toMatchObject({
        endpointId: 'gh-dup',
        eventType: 'pull_request',
        state: 'pending',
        dedupeKey: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      });
      const stored = await app.request(`/v1/webhooks/hooks-dup/${accepted.id}/body`, {
        headers: auth,
      });
      expect(stored.headers.get('content-type')).toBe('application/json');
      expect(await stored.text()).toBe(payload);
    });

    it.each<{
      provider: string;
      sign: (secret: string, body: string) => Record<string, string>;
      headers: Record<string, string>;
      body: Record<string, unknown>;
      eventType: string;
      dedupeKey: string;
    }>([
      {
        provider: 'shopify',
        sign: (k, b) => ({
          'x-shopify-hmac-sha256': createHmac('sha256', k).update(b).digest('base64'),
        }),
        headers: { 'x-shopify-topic': 'orders/create', 'x-shopify-webhook-id': 'b54557e4-bdd9' },
        body: { id: 820982911946154500, email: 'jon@example.com' },
        eventType: 'orders/create',
        dedupeKey: 'b54557e4-bdd9',
      },
      {
        provider: 'pagerduty',
        sign: (k, b) => ({
          'x-pagerduty-signature': `v1=${createHmac('sha256', k).update(b).digest('hex')}`,
        }),
        headers: {},
        body: { event: { id: '01DEN4HPBQAJ', event_type: 'incident.triggered' } },
        eventType: 'incident.triggered',
        dedupeKey: '01DEN4HPBQAJ',
      },
      {
        provider: 'gitlab',
        sign: (k) => ({ 'x-gitlab-token': k }),
        headers: { 'x-gitlab-event': 'Merge Request Hook', 'idempotency-key': 'f0a3-91' },
        body: { object_kind: 'merge_request' },
        eventType: 'Merge Request Hook',
        dedupeKey: 'f0a3-91',
      },
    ])(
      'takes a $provider delivery: its signature, event type and delivery id, from its preset',
      async (c) => {
        const agentId = `preset-${c.provider}`;
        const { status, body: endpoint } = await createEndpoint(app, {
          id: `ep-${c.provider}`,
          agentId,
          provider: c.provider,
        });
        expect(status).toBe(201);
        const payload = JSON.stringify(c.body);
        const headers = {
          'content-type': 'application/json',
          ...c.headers,
          ...c.sign(endpoint.secrets[0] ?? '', payload),
        };
        const post = () => app.request(endpoint.url, { method: 'POST', headers, body: payload });
        expect((await post()).status).toBe(202);
        expect(await (await post()).json()).toMatchObject({ status: 'duplicate' });
        const forged = await app.request(endpoint.url, {
          method: 'POST',
          headers: { ...headers, ...c.sign('not-the-secret-000', payload) },
          body: payload,
        });
        expect(forged.status).toBe(401);
        const items = await storedItems(storage, agentId);
        expect(items.map((item) => item.properties)).toEqual([
          expect.objectContaining({
            provider: c.provider,
            eventType: c.eventType,
            dedupeKey: c.dedupeKey,
          }),
        ]);
      },
    );

    it('answers the handshakes of Zoom, Twitch and Discord itself, storing nothing, and defers Discord interactions', async () => {
      const at = String(nowSeconds);
      const zoom = await createEndpoint(app, { id: 'zoom', agentId: 'hs', provider: 'zoom' });
      const zoomSecret = zoom.body.secrets[0] ?? '';
      const validation = JSON.stringify({
        event: 'endpoint.url_validation',
        payload: { plainToken: 'qgg8vlvZRS6UYooatFL8Aw' },
      });
      const zoomAnswer = await app.request('/hooks/zoom', {
        method: 'POST',
        body: validation,
        headers: {
          'content-type': 'application/json',
          'x-zm-request-timestamp': at,
          'x-zm-signature': `v0=${createHmac('sha256', zoomSecret).update(`v0:${at}:${validation}`).digest('hex')}`,
        },
      });
      expect(zoomAnswer.status).toBe(200);
      expect(await zoomAnswer.json()).toEqual({
        plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
        encryptedToken: createHmac('sha256', zoomSecret)
          .update('qgg8vlvZRS6UYooatFL8Aw')
          .digest('hex'),
      });

      const twitch = await createEndpoint(app, { id: 'twitch', agentId: 'hs', provider: 'twitch' });
      const challenge = JSON.stringify({ challenge: 'pogchamp-kappa-360noscope-vohiyo' });
      const stamp = NOW.toISOString();
      const twitchAnswer = await app.request('/hooks/twitch', {
        method: 'POST',
        body: challenge,
        headers: {
          'content-type': 'application/json',
          'twitch-eventsub-message-type': 'webhook_callback_verification',
          'twitch-eventsub-message-id': 'msg-1',
          'twitch-eventsub-message-timestamp': stamp,
          'twitch-eventsub-message-signature': `sha256=${createHmac(
            'sha256',
            twitch.body.secrets[0] ?? '',
          )
            .update(`msg-1${stamp}${challenge}`)
            .digest('hex')}`,
        },
      });
      expect(twitchAnswer.status).toBe(200);
      expect(twitchAnswer.headers.get('content-type')).toContain('text/plain');
      expect(await twitchAnswer.text()).toBe('pogchamp-kappa-360noscope-vohiyo');

      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const key = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
      expect(
        (
          await createEndpoint(app, {
            id: 'discord',
            agentId: 'hs',
            provider: 'discord',
            secrets: [key],
          })
        ).status,
      ).toBe(201);
      const discord = (payload: string, signer = privateKey) =>
        app.request('/hooks/discord', {
          method: 'POST',
          body: payload,
          headers: {
            'content-type': 'application/json',
            'x-signature-timestamp': at,
            'x-signature-ed25519': signWith(null, Buffer.from(`${at}${payload}`), signer).toString(
              'hex',
            ),
          },
        });
      const ping = await discord(JSON.stringify({ id: '1', type: 1 }));
      expect(await ping.json()).toEqual({ type: 1 });
      // Discord checks that a bad signature is refused.
      expect(
        (
          await discord(
            JSON.stringify({ id: '1', type: 1 }),
            generateKeyPairSync('ed25519').privateKey,
          )
        ).status,
      ).toBe(401);
      const command = await discord(JSON.stringify({ id: '9876', type: 2, data: { name: 'ask' } }));
      expect(command.status).toBe(200);
      expect(await command.json()).toEqual({ type: 5 });

      const items = await storedItems(storage, 'hs');
      expect(
        items.map((item) => [
          item.properties['provider'],
          item.properties['eventType'],
          item.properties['dedupeKey'],
        ]),
      ).toEqual([['discord', 'application_command', '9876']]);
    });

    it("answers Meta's subscription check with the challenge, only for its verify token", async () => {
      const created = (await (
        await app.request('/v1/endpoints', {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ id: 'meta', agentId: 'wa', provider: 'meta' }),
        })
      ).json()) as { verifyToken: string };
      expect(created.verifyToken.length).toBeGreaterThan(20);
      const listed = (await (
        await app.request('/v1/endpoints/meta', { headers: auth })
      ).json()) as {
        verifyToken: string;
      };
      expect(listed.verifyToken).toBe(`…${created.verifyToken.slice(-4)}`);
      const check = (token: string, mode = 'subscribe') =>
        app.request(
          `/hooks/meta?hub.mode=${mode}&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`,
        );
      const ok = await check(created.verifyToken);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('1158201444');
      const wrong = await check('not-the-token');
      expect(wrong.status).toBe(403);
      expect(await wrong.text()).toContain('verify token');
      expect((await check(created.verifyToken, 'unsubscribe')).status).toBe(400);
      // Other providers take no GET.
      await createEndpoint(app, { id: 'gh-get', agentId: 'wa', provider: 'github' });
      const get = await app.request('/hooks/gh-get?hub.mode=subscribe');
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toContain('POST');
    });

    it('keeps small bodies byte for byte, text or not', async () => {
      const { body: endpoint } = await createEndpoint(app, {
        id: 'raw-bytes',
        agentId: 'hooks-raw',
        provider: 'hmac',
        header: 'x-sig',
      });
      const bodies: [string, Buffer][] = [
        ['JSON with accents and an emoji', Buffer.from('{"name":"Zoë 🚀","n":1}')],
        ['text with a control character', Buffer.from('a\u0001b')],
        ['bytes that are not UTF-8', Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x0a])],
      ];
      for (const [label, bytes] of bodies) {
        const response = await app.request('/hooks/raw-bytes', {
          method: 'POST',
          headers: {
            'x-sig': createHmac('sha256', endpoint.secrets[0] ?? '')
              .update(bytes)
              .digest('hex'),
          },
          body: bytes,
        });
        expect(response.status, label).toBe(202);
        const { id } = (await response.json()) as { id: string };
        const stored = await app.request(`/v1/webhooks/hooks-raw/${id}/body`, { headers: auth });
        expect(Buffer.from(await stored.arrayBuffer()).equals(bytes), label).toBe(true);
      }
    });

    it('accepts Stripe and Standard Webhooks deliveries signed by their official libraries', async () => {
      const { body: stripeEndpoint } = await createEndpoint(app, {
        id: 'stripe-1',
        agentId: 'hooks-pay',
        provider: 'stripe',
        secrets: ['whsec_stripe_test_secret'],
      });
      const event = JSON.stringify({
        id: 'evt_1',
        type: 'invoice.paid',
        data: { object: { id: 'in_1' } },
      });
      const stripeHeader = new Stripe('sk_test_x').webhooks.generateTestHeaderString({
        payload: event,
        secret: stripeEndpoint.secrets[0] ?? '',
        timestamp: nowSeconds,
      });
      const stripeResponse = await app.request('/hooks/stripe-1', {
        method: 'POST',
        headers: { 'stripe-signature': stripeHeader, 'content-type': 'application/json' },
        body: event,
      });
      expect(stripeResponse.status).toBe(202);

      const { body: standard } = await createEndpoint(app, {
        id: 'std-1',
        agentId: 'hooks-pay',
        provider: 'standard',
      });
      const message = JSON.stringify({ type: 'response.completed', data: {} });
      const signature = new Webhook(standard.secrets[0] ?? '').sign('msg_1', NOW, message);
      const standardResponse = await app.request('/hooks/std-1', {
        method: 'POST',
        headers: {
          'webhook-id': 'msg_1',
          'webhook-timestamp': String(nowSeconds),
          'webhook-signature': signature,
        },
        body: message,
      });
      expect(standardResponse.status).toBe(202);
      const items = await storedItems(storage, 'hooks-pay');
      expect(
        items.map((i) => [i.properties['eventType'], i.properties['dedupeKey']]).sort(),
      ).toEqual([
        ['invoice.paid', 'evt_1'],
        ['response.completed', 'msg_1'],
      ]);
    });

    it.each<[string, () => Promise<[string, Record<string, string>, string]>, number, string]>([
      [
        'a wrong signature',
        async () => [
          'gh-refuse',
          { 'x-hub-signature-256': await signGithub('not-the-secret', '{}') },
          '{}',
        ],
        401,
        'unauthorized',
      ],
      ['no signature', () => Promise.resolve(['gh-refuse', {}, '{}']), 401, 'unauthorized'],
      ['an unknown endpoint', () => Promise.resolve(['nope', {}, '{}']), 404, 'endpoint_not_found'],
    ])('refuses %s and stores nothing', async (_label, make, status, code) => {
      await createEndpoint(app, { id: 'gh-refuse', agentId: 'hooks-refuse', provider: 'github' });
      const [endpointId, headers, body] = await make();
      const response = await app.request(`/hooks/${endpointId}`, { method: 'POST', headers, body });
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
      expect(await storedItems(storage, 'hooks-refuse')).toHaveLength(0);
    });

    it('refuses deliveries to a disabled endpoint until it is enabled again', async () => {
      const { body: endpoint } = await createEndpoint(app, {
        id: 'gh-off',
        agentId: 'hooks-off',
        provider: 'github',
        enabled: false,
      });
      const payload = '{"zen":"Keep it logically awesome."}';
      const headers = {
        'x-hub-signature-256': await signGithub(endpoint.secrets[0] ?? '', payload),
        'x-github-delivery': 'd-1',
      };
      const refused = await app.request('/hooks/gh-off', {
        method: 'POST',
        headers,
        body: payload,
      });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
        /"enabled":true/,
      );
      await app.request('/v1/endpoints/gh-off', {
        method: 'PATCH',
        headers: auth,
        body: JSON.stringify({ enabled: true }),
      });
      expect(
        (await app.request('/hooks/gh-off', { method: 'POST', headers, body: payload })).status,
      ).toBe(202);
    });

    it('rotates secrets: the new one works at once, the old one until removed', async () => {
      const { body: endpoint } = await createEndpoint(app, {
        id: 'gh-rot',
        agentId: 'hooks-rot',
        provider: 'github',
      });
      const old = endpoint.secrets[0] ?? '';
      const rotated = (await (
        await app.request('/v1/endpoints/gh-rot', {
          method: 'PATCH',
          headers: auth,
          body: JSON.stringify({ addSecret: true }),
        })
      ).json()) as { addedSecret: string; secrets: string[] };
      expect(rotated.secrets).toHaveLength(2);
      const post = async (secret: string, delivery: string) =>
        (
          await app.request('/hooks/gh-rot', {
            method: 'POST',
            headers: {
              'x-hub-signature-256': await signGithub(secret, '{}'),
              'x-github-delivery': delivery,
            },
            body: '{}',
          })
        ).status;
      expect(await post(old, 'r1')).toBe(202);
      expect(await post(rotated.addedSecret, 'r2')).toBe(202);
      await app.request('/v1/endpoints/gh-rot', {
        method: 'PATCH',
        headers: auth,
        body: JSON.stringify({ removeSecret: old.slice(-4) }),
      });
      expect(await post(old, 'r3')).toBe(401);
      const last = await app.request('/v1/endpoints/gh-rot', {
        method: 'PATCH',
        headers: auth,
        body: JSON.stringify({ removeSecret: rotated.addedSecret.slice(-4) }),
      });
      expect(last.status).toBe(400);
      expect(((await last.json()) as { error: { code: string } }).error.code).toBe('last_secret');
    });

    it('removes a secret only when its last characters name exactly one', async () => {
      await createEndpoint(app, {
        id: 'gh-two',
        agentId: 'hooks-two',
        provider: 'github',
        secrets: ['first-secret-abcd', 'second-secret-abcd'],
      });
      const patch = (body: unknown) =>
        app.request('/v1/endpoints/gh-two', {
          method: 'PATCH',
          headers: auth,
          body: JSON.stringify(body),
        });
      const ambiguous = await patch({ removeSecret: 'abcd' });
      expect(ambiguous.status).toBe(400);
      expect(((await ambiguous.json()) as { error: { message: string } }).error.message).toMatch(
        /2 secrets end in "abcd"/,
      );
      expect((await patch({ removeSecret: 'zzzz' })).status).toBe(400);
      const removed = (await (await patch({ removeSecret: 't-secret-abcd' })).json()) as {
        secrets: string[];
      };
      expect(removed.secrets).toHaveLength(1);
    });

    it('holds at most five secrets per endpoint, each 8 to 256 printable characters, through PATCH too', async () => {
      await createEndpoint(app, { id: 'gh-five', agentId: 'hooks-five', provider: 'github' });
      const patch = (body: unknown) =>
        app.request('/v1/endpoints/gh-five', {
          method: 'PATCH',
          headers: auth,
          body: JSON.stringify(body),
        });
      for (let n = 2; n <= 5; n += 1) expect((await patch({ addSecret: true })).status).toBe(200);
      const sixth = await patch({ addSecret: true });
      expect(sixth.status).toBe(400);
      expect(await sixth.json()).toMatchObject({ error: { code: 'too_many_secrets' } });
      const long = await patch({ addSecret: 'x'.repeat(257) });
      expect(long.status).toBe(400);
      expect(((await long.json()) as { error: { message: string } }).error.message).toMatch(
        /at most 256 characters/,
      );
      expect((await patch({ addSecret: 'has a space' })).status).toBe(400);
      const shown = (await (
        await app.request('/v1/endpoints/gh-five', { headers: auth })
      ).json()) as {
        secrets: string[];
      };
      expect(shown.secrets).toHaveLength(5);
    });

    it.each([
      ['POST', '/v1/endpoints', '{"agentId": "a",'],
      ['PATCH', '/v1/endpoints/gh-main', '{enabled: true}'],
      ['POST', '/v1/webhooks/claim', 'agents=main'],
      ['POST', '/v1/webhooks/settle', ''],
    ])(
      'says %s %s with a body that is not JSON is not JSON, and where',
      async (method, path, body) => {
        const response = await app.request(path, { method, headers: auth, body });
        expect(response.status).toBe(400);
        const { error } = (await response.json()) as { error: { code: string; message: string } };
        expect(error.code).toBe('invalid_json');
        expect(error.message).toMatch(
          body === '' ? /body is empty/ : /not valid JSON: .*(position|Unexpected token)/,
        );
      },
    );

    it('refuses a delivery over the size limit with 413 before storing it', async () => {
      const small = createApp({
        storage,
        storageKind: 'test',
        apiKeys: new ApiKeys([API_KEY]),
        logger: pino({ level: 'silent' }),
        maxTranscriptBytes: 1 << 20,
        maxWebhookBytes: 1024,
        version: 'test',
        now: () => NOW,
      });
      const { body: endpoint } = await createEndpoint(small, {
        id: 'gh-big',
        agentId: 'hooks-big',
        provider: 'github',
      });
      const payload = JSON.stringify({ pad: 'x'.repeat(5000) });
      const response = await small.request('/hooks/gh-big', {
        method: 'POST',
        headers: { 'x-hub-signature-256': await signGithub(endpoint.secrets[0] ?? '', payload) },
        body: payload,
      });
      expect(response.status).toBe(413);
      expect(await storedItems(storage, 'hooks-big')).toHaveLength(0);
    });

    /** A body that never arrives: a request that reads it waits until it gives up. */
    const hanging = () =>
      new ReadableStream<Uint8Array>({
        pull: () => new Promise(() => undefined),
      });
    const post = (target: NexusApp, path: string, headers: Record<string, string>) =>
      target.request(path, {
        method: 'POST',
        headers,
        body: hanging(),
        duplex: 'half',
      });

    it('refuses a delivery without its signature header before reading its body', async () => {
      await createEndpoint(app, { id: 'gh-pre', agentId: 'hooks-pre', provider: 'github' });
      const response = await post(app, '/hooks/gh-pre', { 'content-length': '25000000' });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
        /missing x-hub-signature-256 header/,
      );
    });

    it('bounds the bytes read at once on /hooks (503 Retry-After beyond) and the time a body may take (408)', async () => {
      const limited = createApp({
        storage,
        storageKind: 'test',
        apiKeys: new ApiKeys([API_KEY]),
        logger: pino({ level: 'silent' }),
        maxTranscriptBytes: 1 << 20,
        version: 'test',
        now: () => NOW,
        webhookReadTimeoutMs: 300,
      });
      await createEndpoint(limited, { id: 'gh-slow', agentId: 'hooks-slow', provider: 'github' });
      const signed = { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` };
      // 64 MiB of reads at once: two bodies of 25 MB fit, the third does not.
      const first = post(limited, '/hooks/gh-slow', { ...signed, 'content-length': '25000000' });
      const second = post(limited, '/hooks/gh-slow', { ...signed, 'content-length': '25000000' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const third = await post(limited, '/hooks/gh-slow', {
        ...signed,
        'content-length': '25000000',
      });
      expect(third.status).toBe(503);
      expect(third.headers.get('retry-after')).toBe('5');
      for (const slow of await Promise.all([first, second])) {
        expect(slow.status).toBe(408);
        expect(((await slow.json()) as { error: { code: string } }).error.code).toBe(
          'request_timeout',
        );
      }
      // Their budget is given back: a delivery now is read (and refused for its signature).
      const later = await limited.request('/hooks/gh-slow', {
        method: 'POST',
        headers: signed,
        body: '{}',
      });
      expect(later.status).toBe(401);
      expect(await storedItems(storage, 'hooks-slow')).toHaveLength(0);
    });

    it('keeps the management routes behind the API key, and the hook URL open to senders', async () => {
      expect((await app.request('/v1/endpoints')).status).toBe(401);
      await createEndpoint(app, { id: 'gh-open', agentId: 'hooks-open', provider: 'github' });
      // Reached without a key: refused by the signature check, not by the API-key guard.
      const unsigned = await app.request('/hooks/gh-open', { method: 'POST', body: '{}' });
      expect(unsigned.status).toBe(401);
      expect(((await unsigned.json()) as { error: { message: string } }).error.message).toMatch(
        /github signature was refused/,
      );
      expect((await app.request('/hooks/gh-open', { method: 'GET' })).status).toBe(405);
    });
  },
);
