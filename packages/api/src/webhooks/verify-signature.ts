import {
  createHash,
  createHmac,
  createPublicKey,
  timingSafeEqual,
  verify as verifyWith,
} from 'node:crypto';

import { jsonFields, type JsonFields } from './json-fields.ts';
import { PRESETS, type PresetName, type Scheme } from './provider-presets.ts';

/**
 * Webhook signature verification per provider, as each documents its scheme (the table of
 * `provider-presets.ts`; docs/WEBHOOKS.md). Every check runs on the raw request bytes
 * (re-serialised JSON breaks every signature), compares in constant time, and accepts any of an
 * endpoint's secrets (rotation). Pure apart from HMAC: time is a parameter.
 */
export type WebhookProvider =
  | { readonly type: PresetName }
  /** HMAC-SHA256 hex of the body in a header of the owner's choosing (`sha256=` prefix allowed). */
  | { readonly type: 'hmac'; readonly header: string }
  /** A shared token sent as is in a header. */
  | { readonly type: 'token'; readonly header: string };

export interface SignedRequest {
  readonly headers: Headers;
  readonly body: Uint8Array;
  /** The body's JSON fields, when the caller reads them too (parsed once for both). */
  readonly fields?: JsonFields;
  /** One or more active secrets; any may match. */
  readonly secrets: readonly string[];
  /** The current time, seconds since the epoch. */
  readonly nowSeconds: number;
  /** The URL the sender called, as it called it (Twilio signs it). */
  readonly url?: string;
}

export type Verification = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Stripe's SDKs default to 300 s; Slack and Standard Webhooks say 5 minutes. */
export const REPLAY_WINDOW_SECONDS = 300;

const OK: Verification = { ok: true };
const fail = (reason: string): Verification => ({ ok: false, reason });

/** How an endpoint's provider proves the sender: its preset's scheme, or the owner's header. */
export function schemeOf(provider: WebhookProvider): Scheme {
  switch (provider.type) {
    case 'hmac':
      return {
        kind: 'body-hmac',
        header: provider.header,
        prefix: 'sha256=',
        prefixOptional: true,
        encoding: 'hex',
      };
    case 'token':
      return { kind: 'token', header: provider.header };
    default:
      return PRESETS[provider.type].scheme;
  }
}

export function verifySignature(provider: WebhookProvider, request: SignedRequest): Verification {
  if (request.secrets.length === 0) return fail('the endpoint has no secret configured');
  const scheme = schemeOf(provider);
  switch (scheme.kind) {
    case 'body-hmac':
      return verifyBodyHmac(request, scheme);
    case 'token':
      return verifyToken(request, scheme.header);
    case 'stripe':
      return verifyStripe(request);
    case 'v0':
      return verifyV0(request, scheme);
    case 'twitch':
      return verifyTwitch(request);
    case 'ed25519':
      return verifyEd25519(request);
    case 'twilio':
      return verifyTwilio(request);
    case 'standard':
      return verifyStandard(request);
  }
}

/** The headers a scheme signs with; without them no body can verify. */
function signatureHeaders(scheme: Scheme): readonly string[] {
  switch (scheme.kind) {
    case 'stripe':
      return ['stripe-signature'];
    case 'v0':
      return [scheme.signature, scheme.timestamp];
    case 'twitch':
      return [TWITCH.id, TWITCH.timestamp, TWITCH.signature];
    case 'ed25519':
      return ['x-signature-ed25519', 'x-signature-timestamp'];
    case 'twilio':
      return ['x-twilio-signature'];
    case 'standard':
      return ['webhook-id', 'webhook-timestamp', 'webhook-signature'];
    case 'body-hmac':
    case 'token':
      return [scheme.header];
  }
}

/**
 * What can be refused before a byte of the body is read: a missing signature header (a body of up
 * to 25 MB is not read for a request that cannot verify).
 */
export function precheckSignature(provider: WebhookProvider, headers: Headers): Verification {
  const missing = signatureHeaders(schemeOf(provider)).filter((name) => !headers.get(name));
  return missing.length === 0
    ? OK
    : fail(`missing ${missing.map((name) => name.toLowerCase()).join(' and ')} header`);
}

/**
 * `<header>: <prefix><digest>` = HMAC-SHA256(secret, body), hex or base64 (GitHub, Bitbucket,
 * Shopify, Linear, Sentry, PagerDuty, Meta, and the owner's own `hmac` endpoints); with a
 * separator, any of a list (PagerDuty during a secret rotation). None of these signs a time, except
 * Linear's `webhookTimestamp` in the body.
 */
function verifyBodyHmac(
  { headers, body, fields, secrets, nowSeconds }: SignedRequest,
  scheme: Extract<Scheme, { kind: 'body-hmac' }>,
): Verification {
  const header = headers.get(scheme.header);
  if (!header) return fail(`missing ${scheme.header} header`);
  const expected =
    scheme.encoding === 'hex' ? `${scheme.prefix}<64 hex>` : `${scheme.prefix}<base64>`;
  const parts = scheme.separator === undefined ? [header] : header.split(scheme.separator);
  const presented: Buffer[] = [];
  for (const raw of parts) {
    const part = raw.trim();
    const value = part.startsWith(scheme.prefix)
      ? part.slice(scheme.prefix.length)
      : scheme.prefixOptional
        ? part
        : undefined;
    const digest =
      value === undefined
        ? undefined
        : scheme.encoding === 'hex'
          ? /^[0-9a-f]{64}$/i.test(value)
            ? Buffer.from(value, 'hex')
            : undefined
          : /^[A-Za-z0-9+/]{43}=$/.test(value)
            ? Buffer.from(value, 'base64')
            : undefined;
    if (digest !== undefined) presented.push(digest);
  }
  if (presented.length === 0) return fail(`${scheme.header} is not "${expected}"`);
  if (!secrets.some((secret) => presented.some(matches(hmac(secret, body)))))
    return fail('signature does not match any secret');
  return scheme.freshness === undefined
    ? OK
    : checkBodyTime(fields ?? jsonFields(body), scheme.freshness, nowSeconds);
}

/** A signed time in the body (ms since the epoch), at most `maxAgeSeconds` old (or ahead). */
function checkBodyTime(
  fields: JsonFields,
  freshness: { readonly field: string; readonly maxAgeSeconds: number },
  nowSeconds: number,
): Verification {
  const value = fields.number(freshness.field);
  if (value === undefined || !Number.isFinite(value))
    return fail(`the body has no ${freshness.field} (a time in milliseconds)`);
  const skew = nowSeconds - value / 1000;
  if (Math.abs(skew) > freshness.maxAgeSeconds)
    return fail(
      `${freshness.field} is ${Math.round(Math.abs(skew))} s ${skew > 0 ? 'old' : 'in the future'}; more than ${freshness.maxAgeSeconds} s is refused as a possible replay`,
    );
  return OK;
}

/** `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` over `<t>.<body>`. */
function verifyStripe({ headers, body, secrets, nowSeconds }: SignedRequest): Verification {
  const header = headers.get('stripe-signature');
  if (!header) return fail('missing Stripe-Signature header');
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value !== undefined && /^\d+$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && value !== undefined && /^[0-9a-f]{64}$/i.test(value))
      signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined) return fail('Stripe-Signature has no t=<timestamp>');
  if (signatures.length === 0) return fail('Stripe-Signature has no v1 signature');
  const window = checkWindow(timestamp, nowSeconds);
  if (!window.ok) return window;
  const signed = (secret: string) => hmac(secret, `${String(timestamp)}.`, body);
  return secrets.some((secret) => signatures.some(matches(signed(secret))))
    ? OK
    : fail('no v1 signature matches any secret');
}

/**
 * `<signature>: v0=<hex>` over `v0:<timestamp>:<body>`, the timestamp within 5 minutes (Slack's
 * `X-Slack-Signature` and `X-Slack-Request-Timestamp`, Zoom's `x-zm-signature` and
 * `x-zm-request-timestamp`).
 */
function verifyV0(
  { headers, body, secrets, nowSeconds }: SignedRequest,
  scheme: Extract<Scheme, { kind: 'v0' }>,
): Verification {
  const header = headers.get(scheme.signature);
  const stamp = headers.get(scheme.timestamp);
  if (!header || !stamp) return fail(`missing ${scheme.signature} or ${scheme.timestamp} header`);
  if (!/^\d+$/.test(stamp)) return fail(`${scheme.timestamp} is not a unix time`);
  const hex = /^v0=([0-9a-f]{64})$/i.exec(header.trim())?.[1];
  if (!hex) return fail(`${scheme.signature} is not "v0=<64 hex>"`);
  const window = checkWindow(Number(stamp), nowSeconds);
  if (!window.ok) return window;
  const presented = Buffer.from(hex, 'hex');
  return secrets.some((secret) => equal(presented, hmac(secret, `v0:${stamp}:`, body)))
    ? OK
    : fail('signature does not match any secret');
}

const TWITCH = {
  id: 'twitch-eventsub-message-id',
  timestamp: 'twitch-eventsub-message-timestamp',
  signature: 'twitch-eventsub-message-signature',
} as const;
/** Twitch refuses to let a notification older than 10 minutes count. */
const TWITCH_WINDOW_SECONDS = 600;

/** `Twitch-Eventsub-Message-Signature: sha256=<hex>` over message id + timestamp + body. */
function verifyTwitch({ headers, body, secrets, nowSeconds }: SignedRequest): Verification {
  const id = headers.get(TWITCH.id);
  const stamp = headers.get(TWITCH.timestamp);
  const header = headers.get(TWITCH.signature);
  if (!id || !stamp || !header)
    return fail('missing Twitch-Eventsub-Message-Id, -Timestamp or -Signature header');
  const at = Date.parse(stamp);
  if (!Number.isFinite(at)) return fail('Twitch-Eventsub-Message-Timestamp is not a time');
  const hex = /^sha256=([0-9a-f]{64})$/i.exec(header.trim())?.[1];
  if (!hex) return fail('Twitch-Eventsub-Message-Signature is not "sha256=<64 hex>"');
  const skew = nowSeconds - at / 1000;
  if (Math.abs(skew) > TWITCH_WINDOW_SECONDS)
    return fail(
      `Twitch-Eventsub-Message-Timestamp is ${Math.round(Math.abs(skew))} s off; more than ${TWITCH_WINDOW_SECONDS} s is refused as a possible replay`,
    );
  const presented = Buffer.from(hex, 'hex');
  return secrets.some((secret) => equal(presented, hmac(secret, id, stamp, body)))
    ? OK
    : fail('signature does not match any secret');
}

/**
 * Twilio: `X-Twilio-Signature` = base64 HMAC-SHA1, keyed by the auth token, of the URL Twilio
 * called followed by each POST parameter's name and value, sorted by name. A JSON body is not in
 * the signature: the URL carries its SHA-256 (`bodySHA256`), which must match.
 */
function verifyTwilio({ headers, body, secrets, url }: SignedRequest): Verification {
  const header = headers.get('x-twilio-signature');
  if (!header) return fail('missing X-Twilio-Signature header');
  if (url === undefined) return fail('the URL Twilio called is not known');
  const presented = Buffer.from(header.trim(), 'base64');
  let signed = url;
  if ((headers.get('content-type') ?? '').includes('application/x-www-form-urlencoded')) {
    const params = [...new URLSearchParams(Buffer.from(body).toString('utf8'))].sort(
      ([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0),
    );
    signed += params.map(([name, value]) => `${name}${value}`).join('');
  } else {
    const expected = new URL(url).searchParams.get('bodySHA256');
    if (expected === null) return fail('a body that is not a form needs bodySHA256 in the URL');
    const actual = createHash('sha256').update(body).digest('hex');
    if (!equal(Buffer.from(actual), Buffer.from(expected.toLowerCase())))
      return fail('bodySHA256 does not match the body');
  }
  const mac = (secret: string) => createHmac('sha1', secret).update(signed, 'utf8').digest();
  return secrets.some((secret) => equal(presented, mac(secret)))
    ? OK
    : fail(
        'signature does not match any auth token (behind a proxy, set NEXUS_PUBLIC_URL to the address Twilio calls)',
      );
}

/** The DER prefix of an Ed25519 public key (SubjectPublicKeyInfo), before its 32 bytes. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Discord: `X-Signature-Ed25519` (hex) over `X-Signature-Timestamp` + body, checked with the
 * application's public key (the endpoint's "secret": 64 hex characters). Discord checks the
 * endpoint with bad signatures too, and expects them refused.
 */
function verifyEd25519({ headers, body, secrets }: SignedRequest): Verification {
  const signature = headers.get('x-signature-ed25519');
  const stamp = headers.get('x-signature-timestamp');
  if (!signature || !stamp)
    return fail('missing X-Signature-Ed25519 or X-Signature-Timestamp header');
  if (!/^[0-9a-f]{128}$/i.test(signature.trim()))
    return fail('X-Signature-Ed25519 is not 128 hex characters');
  const message = Buffer.concat([Buffer.from(stamp, 'utf8'), body]);
  const keys = secrets.filter((secret) => /^[0-9a-f]{64}$/i.test(secret));
  if (keys.length === 0)
    return fail(
      "the endpoint has no Ed25519 public key (64 hex characters): give it the application's public key",
    );
  const sig = Buffer.from(signature.trim(), 'hex');
  return keys.some((key) =>
    verifyWith(
      null,
      message,
      createPublicKey({
        key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(key, 'hex')]),
        format: 'der',
        type: 'spki',
      }),
      sig,
    ),
  )
    ? OK
    : fail('signature does not match the public key');
}

/**
 * Standard Webhooks: `webhook-signature: v1,<base64> [v1,<base64> …]` over
 * `<webhook-id>.<webhook-timestamp>.<body>`, keyed by the base64 after `whsec_`.
 */
function verifyStandard({ headers, body, secrets, nowSeconds }: SignedRequest): Verification {
  const id = headers.get('webhook-id');
  const stamp = headers.get('webhook-timestamp');
  const header = headers.get('webhook-signature');
  if (!id || !stamp || !header)
    return fail('missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d+$/.test(stamp)) return fail('webhook-timestamp is not a unix time');
  const window = checkWindow(Number(stamp), nowSeconds);
  if (!window.ok) return window;
  const signatures = header
    .split(' ')
    .map((part) => /^v1,([A-Za-z0-9+/=]+)$/.exec(part.trim())?.[1])
    .filter((value): value is string => value !== undefined)
    .map((value) => Buffer.from(value, 'base64'));
  if (signatures.length === 0) return fail('webhook-signature has no v1 signature');
  const signed = (secret: string) =>
    hmac(Buffer.from(secret.replace(/^whsec_/, ''), 'base64'), `${id}.${stamp}.`, body);
  return secrets.some((secret) => signatures.some(matches(signed(secret))))
    ? OK
    : fail('no v1 signature matches any secret');
}

function verifyToken({ headers, secrets }: SignedRequest, name: string): Verification {
  const header = headers.get(name);
  if (!header) return fail(`missing ${name} header`);
  // Compare digests: equal length whatever was sent, so the comparison's time says nothing.
  const presented = hmac('nexus-token', header);
  return secrets.some((secret) => equal(presented, hmac('nexus-token', secret)))
    ? OK
    : fail('token does not match any secret');
}

/** A signed timestamp must be within the replay window, in the past or the future. */
function checkWindow(timestamp: number, nowSeconds: number): Verification {
  const skew = nowSeconds - timestamp;
  if (skew > REPLAY_WINDOW_SECONDS)
    return fail(
      `timestamp is ${skew} s old; more than ${REPLAY_WINDOW_SECONDS} s is refused as a possible replay`,
    );
  if (skew < -REPLAY_WINDOW_SECONDS)
    return fail(`timestamp is ${-skew} s in the future; check the sender's clock`);
  return OK;
}

function hmac(key: string | Buffer, ...parts: (string | Uint8Array)[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A test of a presented signature against `expected`, computed once for all of them. */
function matches(expected: Buffer): (presented: Buffer) => boolean {
  return (presented) => equal(presented, expected);
}
