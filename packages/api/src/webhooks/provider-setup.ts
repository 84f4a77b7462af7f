import { PRESETS } from './provider-presets.ts';

/**
 * What to do at each provider once its endpoint exists: printed by `nexus endpoints add` and shown
 * by the dashboard's Endpoints page beside the new URL and secret.
 */
export const PROVIDER_SETUP: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(PRESETS).map(([name, preset]) => [name, preset.setup])),
  hmac: 'Configure the sender to sign the body with HMAC-SHA256 (hex) using the secret, in the header named above.',
  token: 'Configure the sender to send the secret in the header named above.',
};
