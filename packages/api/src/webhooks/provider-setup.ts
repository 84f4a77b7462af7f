/**
 * What to do at each provider once its endpoint exists: printed by `nexus endpoints add` and shown
 * by the dashboard's Endpoints page beside the new URL and secret.
 */
export const PROVIDER_SETUP: Readonly<Record<string, string>> = {
  github:
    'GitHub: repository (or organisation) Settings > Webhooks > Add webhook. Payload URL and Secret as above, Content type application/json.',
  stripe:
    'Stripe: Dashboard > Developers > Webhooks > Add endpoint with the URL above; then give Nexus the signing secret Stripe shows (whsec_...) with "nexus endpoints rotate <id> --secret-file <file>".',
  slack:
    'Slack: api.slack.com/apps > your app > Basic Information > Signing Secret: give it to Nexus with "--secret-file"; use the URL above as the Request URL (Event Subscriptions, Slash Commands, Interactivity).',
  standard:
    'Standard Webhooks sender (OpenAI, Svix, ...): register the URL above; if the sender shows its own whsec_ secret, give it to Nexus with "--secret-file".',
  hmac: 'Configure the sender to sign the body with HMAC-SHA256 (hex) using the secret, in the header named above.',
  token: 'Configure the sender to send the secret in the header named above.',
};
