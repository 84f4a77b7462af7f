/**
 * Webhook providers as data: how each proves the sender, where its event type and delivery id
 * are, and what to do at the provider. A provider whose scheme is shared (an HMAC of the body in a
 * header, a token in a header, Standard Webhooks) is a row here, not code of its own; only Stripe,
 * Slack and Standard Webhooks have schemes of their own (`verify-signature.ts`). Facts from each
 * provider's documentation (../shared/WEBHOOKS.md).
 */

/** How a request proves its sender. */
export type Scheme =
  /**
   * An HMAC-SHA256 of the raw body in `header` (named as the provider writes it; looked up in any
   * case), as `<prefix><digest>`; with `separator`, a list (rotation); `prefixOptional` accepts it
   * without the prefix too.
   */
  | {
      readonly kind: 'body-hmac';
      readonly header: string;
      readonly prefix: string;
      readonly prefixOptional?: boolean;
      readonly encoding: 'hex' | 'base64';
      readonly separator?: string;
      /** A time in the JSON body (ms since the epoch) that must be at most `maxAgeSeconds` old. */
      readonly freshness?: { readonly field: string; readonly maxAgeSeconds: number };
    }
  /** The secret itself, sent in `header`. */
  | { readonly kind: 'token'; readonly header: string }
  /**
   * `<signature>: v0=<hex>` = HMAC-SHA256 of `v0:<timestamp header>:<body>`, the timestamp (unix
   * seconds) within 5 minutes: Slack and Zoom, each with its own header names.
   */
  | { readonly kind: 'v0'; readonly signature: string; readonly timestamp: string }
  /** Twitch EventSub: `sha256=<hex>` over message id + timestamp (RFC 3339) + body, 10 minutes. */
  | { readonly kind: 'twitch' }
  /** Discord interactions: Ed25519 over timestamp + body, with the application's public key. */
  | { readonly kind: 'ed25519' }
  /** Twilio: base64 HMAC-SHA1 of the called URL and the sorted POST parameters. */
  | { readonly kind: 'twilio' }
  | { readonly kind: 'stripe' }
  | { readonly kind: 'standard' };

/** Where a value is in a delivery: a header, or a (dotted) field of the JSON body. */
export type Source = { readonly header: string } | { readonly field: string };

export interface Preset {
  /** Its name in `nexus endpoints add --provider` and the API. */
  readonly title: string;
  readonly scheme: Scheme;
  /** The event type: the first source present (else the body's `type`, else the provider). */
  readonly event: readonly Source[];
  /** The delivery id a retry repeats: the first present (else the body's SHA-256). */
  readonly dedupe: readonly Source[];
  /** Secrets Nexus makes for it look like this (`whsec_` + base64 for Standard Webhooks). */
  readonly secretStyle: 'opaque' | 'whsec';
  /** What to do at the provider once the endpoint exists. */
  readonly setup: string;
}

const STANDARD_SETUP = (who: string) =>
  `${who}: add an endpoint with the URL above (Standard Webhooks signing); if ${who} shows its own whsec_ secret, give it to Nexus ("nexus endpoints rotate <id> --secret-file <file>" or the dashboard's endpoint form).`;

const standard = (title: string): Preset => ({
  title,
  scheme: { kind: 'standard' },
  event: [],
  dedupe: [{ header: 'webhook-id' }],
  secretStyle: 'whsec',
  setup: STANDARD_SETUP(title),
});

export const PRESETS = {
  github: {
    title: 'GitHub',
    scheme: {
      kind: 'body-hmac',
      header: 'X-Hub-Signature-256',
      prefix: 'sha256=',
      encoding: 'hex',
    },
    event: [{ header: 'x-github-event' }],
    dedupe: [{ header: 'x-github-delivery' }],
    secretStyle: 'opaque',
    setup:
      'GitHub: repository (or organisation) Settings > Webhooks > Add webhook. Payload URL and Secret as above, Content type application/json.',
  },
  gitlab: {
    title: 'GitLab',
    scheme: { kind: 'token', header: 'X-Gitlab-Token' },
    event: [{ header: 'x-gitlab-event' }],
    dedupe: [{ header: 'idempotency-key' }, { header: 'x-gitlab-event-uuid' }],
    secretStyle: 'opaque',
    setup:
      'GitLab: project (or group) Settings > Webhooks > Add new webhook. URL as above, Secret token = the secret above; choose the triggers.',
  },
  bitbucket: {
    title: 'Bitbucket Cloud',
    scheme: { kind: 'body-hmac', header: 'X-Hub-Signature', prefix: 'sha256=', encoding: 'hex' },
    event: [{ header: 'x-event-key' }],
    dedupe: [{ header: 'x-request-uuid' }],
    secretStyle: 'opaque',
    setup:
      'Bitbucket: repository settings > Webhooks > Add webhook. URL and Secret as above; choose the triggers.',
  },
  shopify: {
    title: 'Shopify',
    scheme: { kind: 'body-hmac', header: 'X-Shopify-Hmac-Sha256', prefix: '', encoding: 'base64' },
    event: [{ header: 'x-shopify-topic' }],
    dedupe: [{ header: 'x-shopify-webhook-id' }, { header: 'x-shopify-event-id' }],
    secretStyle: 'opaque',
    setup:
      'Shopify: subscribe the app\'s webhooks to the URL above; Shopify signs with the app\'s client secret (Partner Dashboard > app > API credentials): give that secret to Nexus ("nexus endpoints rotate <id> --secret-file <file>").',
  },
  linear: {
    title: 'Linear',
    scheme: {
      kind: 'body-hmac',
      header: 'Linear-Signature',
      prefix: '',
      encoding: 'hex',
      freshness: { field: 'webhookTimestamp', maxAgeSeconds: 60 },
    },
    event: [{ header: 'linear-event' }],
    dedupe: [{ header: 'linear-delivery' }],
    secretStyle: 'opaque',
    setup:
      'Linear: Settings > API > Webhooks > New webhook with the URL above; Linear shows a signing secret: give it to Nexus ("nexus endpoints rotate <id> --secret-file <file>").',
  },
  sentry: {
    title: 'Sentry',
    scheme: { kind: 'body-hmac', header: 'Sentry-Hook-Signature', prefix: '', encoding: 'hex' },
    event: [{ header: 'sentry-hook-resource' }],
    dedupe: [{ header: 'request-id' }],
    secretStyle: 'opaque',
    setup:
      'Sentry: Settings > Developer Settings > your integration > Webhook URL as above; give Nexus the integration\'s Client Secret ("nexus endpoints rotate <id> --secret-file <file>").',
  },
  pagerduty: {
    title: 'PagerDuty',
    scheme: {
      kind: 'body-hmac',
      header: 'X-PagerDuty-Signature',
      prefix: 'v1=',
      encoding: 'hex',
      separator: ',',
    },
    event: [{ field: 'event.event_type' }],
    dedupe: [{ field: 'event.id' }],
    secretStyle: 'opaque',
    setup:
      'PagerDuty: Integrations > Generic Webhooks (v3) > New Webhook with the URL above; PagerDuty shows the signing secret once: give it to Nexus ("nexus endpoints rotate <id> --secret-file <file>").',
  },
  meta: {
    title: 'Meta (WhatsApp, Messenger, Instagram)',
    scheme: {
      kind: 'body-hmac',
      header: 'X-Hub-Signature-256',
      prefix: 'sha256=',
      encoding: 'hex',
    },
    event: [{ field: 'object' }],
    dedupe: [],
    secretStyle: 'opaque',
    setup:
      'Meta: App Dashboard > Webhooks: Callback URL as above, Verify token as above (Nexus answers the check). Meta signs with the App Secret (App settings > Basic): give it to Nexus with --secret-file at creation, or "nexus endpoints rotate <id> --secret-file <file>".',
  },
  stripe: {
    title: 'Stripe',
    scheme: { kind: 'stripe' },
    event: [],
    dedupe: [{ field: 'id' }],
    secretStyle: 'opaque',
    setup:
      'Stripe: Dashboard > Developers > Webhooks > Add endpoint with the URL above; then give Nexus the signing secret Stripe shows (whsec_...) with "nexus endpoints rotate <id> --secret-file <file>".',
  },
  slack: {
    title: 'Slack',
    scheme: { kind: 'v0', signature: 'X-Slack-Signature', timestamp: 'X-Slack-Request-Timestamp' },
    event: [],
    dedupe: [{ field: 'event_id' }],
    secretStyle: 'opaque',
    setup:
      'Slack: api.slack.com/apps > your app > Basic Information > Signing Secret: give it to Nexus with "--secret-file"; use the URL above as the Request URL (Event Subscriptions, Slash Commands, Interactivity).',
  },
  zoom: {
    title: 'Zoom',
    scheme: { kind: 'v0', signature: 'x-zm-signature', timestamp: 'x-zm-request-timestamp' },
    event: [{ field: 'event' }],
    dedupe: [],
    secretStyle: 'opaque',
    setup:
      'Zoom: App Marketplace > your app > Feature > Event Subscriptions: Event notification endpoint URL = the URL above; give Nexus the app\'s Secret Token ("nexus endpoints rotate <id> --secret-file <file>"), then Validate: Nexus answers the URL validation itself.',
  },
  twitch: {
    title: 'Twitch EventSub',
    scheme: { kind: 'twitch' },
    event: [{ header: 'twitch-eventsub-subscription-type' }],
    dedupe: [{ header: 'twitch-eventsub-message-id' }],
    secretStyle: 'opaque',
    setup:
      'Twitch: create the EventSub subscription (POST https://api.twitch.tv/helix/eventsub/subscriptions) with transport {"method":"webhook","callback":<the URL above>,"secret":<the secret above>}; Nexus answers the verification challenge itself.',
  },
  discord: {
    title: 'Discord interactions',
    scheme: { kind: 'ed25519' },
    event: [],
    dedupe: [{ field: 'id' }],
    secretStyle: 'opaque',
    setup:
      'Discord: Developer Portal > your application > General Information: give Nexus the PUBLIC KEY shown there as the endpoint\'s secret ("nexus endpoints rotate <id> --secret-file <file>", then retire the generated one), then set Interactions Endpoint URL = the URL above: Nexus answers Discord\'s PING itself, and every other interaction with a deferred response.',
  },
  twilio: {
    title: 'Twilio',
    scheme: { kind: 'twilio' },
    event: [],
    dedupe: [{ header: 'i-twilio-idempotency-token' }],
    secretStyle: 'opaque',
    setup:
      "Twilio: give Nexus the account's Auth Token (Console > Account Info) as the secret (--secret-file), then set the phone number's (or service's) webhook URL to the URL above, HTTP POST. Behind a proxy, set NEXUS_PUBLIC_URL to the address Twilio calls: Twilio signs that URL.",
  },
  standard: standard('Standard Webhooks sender (OpenAI, Anthropic, Supabase, ...)'),
  svix: standard('Svix'),
  resend: standard('Resend'),
  clerk: standard('Clerk'),
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

/** The value at a dotted path of a JSON value (`event.id`), if there is one. */
export function valueAt(value: unknown, path: string): unknown {
  let at: unknown = value;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}
