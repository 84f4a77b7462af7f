import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signature verification per provider, as each documents its scheme (GitHub, Stripe,
 * Slack, Standard Webhooks; docs/WEBHOOKS.md). Every check runs on the
 * raw request bytes (re-serialised JSON breaks every signature), compares in constant time, and
 * accepts any of an endpoint's secrets (rotation). Pure apart from HMAC: time is a parameter.
 */
export type WebhookProvider =
  | { readonly type: 'github' }
  | { readonly type: 'stripe' }
  | { readonly type: 'slack' }
  | { readonly type: 'standard' }
  /** HMAC-SHA256 hex of the body in a header of the owner's choosing (`sha256=` prefix allowed). */
  | { readonly type: 'hmac'; readonly header: string }
  /** A shared token sent as is in a header. */
  | { readonly type: 'token'; readonly header: string };

export interface SignedRequest {
  readonly headers: Headers;
  readonly body: Uint8Array;
  /** One or more active secrets; any may match. */
  readonly secrets: readonly string[];
  /** The current time, seconds since the epoch. */
  readonly nowSeconds: number;
}

export type Verification = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Stripe's SDKs default to 300 s; Slack and Standard Webhooks say 5 minutes. */
export const REPLAY_WINDOW_SECONDS = 300;

const OK: Verification = { ok: true };
const fail = (reason: string): Verification => ({ ok: false, reason });

export function verifySignature(provider: WebhookProvider, request: SignedRequest): Verification {
  if (request.secrets.length === 0) return fail('the endpoint has no secret configured');
  switch (provider.type) {
    case 'github':
      return verifyGithub(request);
    case 'stripe':
      return verifyStripe(request);
    case 'slack':
      return verifySlack(request);
    case 'standard':
      return verifyStandard(request);
    case 'hmac':
      return verifyHmacHeader(request, provider.header);
    case 'token':
      return verifyToken(request, provider.header);
  }
}

/** The headers each provider signs with; without them no body can verify. */
function signatureHeaders(provider: WebhookProvider): readonly string[] {
  switch (provider.type) {
    case 'github':
      return ['x-hub-signature-256'];
    case 'stripe':
      return ['stripe-signature'];
    case 'slack':
      return ['x-slack-signature', 'x-slack-request-timestamp'];
    case 'standard':
      return ['webhook-id', 'webhook-timestamp', 'webhook-signature'];
    case 'hmac':
    case 'token':
      return [provider.header];
  }
}

/**
 * What can be refused before a byte of the body is read: a missing signature header (a body of up
 * to 25 MB is not read for a request that cannot verify).
 */
export function precheckSignature(provider: WebhookProvider, headers: Headers): Verification {
  const missing = signatureHeaders(provider).filter((name) => !headers.get(name));
  return missing.length === 0 ? OK : fail(`missing ${missing.join(' and ')} header`);
}

/** `X-Hub-Signature-256: sha256=<hex>` = HMAC-SHA256(secret, body). GitHub signs no timestamp. */
function verifyGithub({ headers, body, secrets }: SignedRequest): Verification {
  const header = headers.get('x-hub-signature-256');
  if (!header) return fail('missing X-Hub-Signature-256 header');
  const hex = /^sha256=([0-9a-f]{64})$/i.exec(header.trim())?.[1];
  if (!hex) return fail('X-Hub-Signature-256 is not "sha256=<64 hex>"');
  const presented = Buffer.from(hex, 'hex');
  return secrets.some((secret) => equal(presented, hmac(secret, body)))
    ? OK
    : fail('signature does not match any secret');
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
  return secrets.some((secret) => signatures.some((sig) => equal(sig, signed(secret))))
    ? OK
    : fail('no v1 signature matches any secret');
}

/** `X-Slack-Signature: v0=<hex>` over `v0:<X-Slack-Request-Timestamp>:<body>`. */
function verifySlack({ headers, body, secrets, nowSeconds }: SignedRequest): Verification {
  const header = headers.get('x-slack-signature');
  const stamp = headers.get('x-slack-request-timestamp');
  if (!header || !stamp)
    return fail('missing X-Slack-Signature or X-Slack-Request-Timestamp header');
  if (!/^\d+$/.test(stamp)) return fail('X-Slack-Request-Timestamp is not a unix time');
  const hex = /^v0=([0-9a-f]{64})$/i.exec(header.trim())?.[1];
  if (!hex) return fail('X-Slack-Signature is not "v0=<64 hex>"');
  const window = checkWindow(Number(stamp), nowSeconds);
  if (!window.ok) return window;
  const presented = Buffer.from(hex, 'hex');
  return secrets.some((secret) => equal(presented, hmac(secret, `v0:${stamp}:`, body)))
    ? OK
    : fail('signature does not match any secret');
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
  return secrets.some((secret) => signatures.some((sig) => equal(sig, signed(secret))))
    ? OK
    : fail('no v1 signature matches any secret');
}

function verifyHmacHeader({ headers, body, secrets }: SignedRequest, name: string): Verification {
  const header = headers.get(name);
  if (!header) return fail(`missing ${name} header`);
  const hex = /^(?:sha256=)?([0-9a-f]{64})$/i.exec(header.trim())?.[1];
  if (!hex) return fail(`${name} is not an HMAC-SHA256 hex digest`);
  const presented = Buffer.from(hex, 'hex');
  return secrets.some((secret) => equal(presented, hmac(secret, body)))
    ? OK
    : fail('signature does not match any secret');
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
