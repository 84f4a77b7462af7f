import { describe, expect, it } from 'vitest';
import { loadApiConfig } from './api-config.ts';

describe('loadApiConfig', () => {
  it('refuses keys in NEXUS_API_KEYS shorter than 16 characters, saying how many', () => {
    expect(() =>
      loadApiConfig({ NEXUS_API_KEYS: 'short, also-short,a-key-that-is-long-enough' }),
    ).toThrow(/NEXUS_API_KEYS holds 2 keys shorter than 16 characters/);
    expect(loadApiConfig({ NEXUS_API_KEYS: ' a-key-that-is-long-enough , ' }).apiKeys).toEqual([
      'a-key-that-is-long-enough',
    ]);
  });

  it('takes the default host from NEXUS_DEFAULT_HOST, "default" when unset, and checks it', () => {
    expect(loadApiConfig({}).defaultHostId).toBe('default');
    expect(loadApiConfig({ NEXUS_DEFAULT_HOST: 'old-laptop' }).defaultHostId).toBe('old-laptop');
    expect(() => loadApiConfig({ NEXUS_DEFAULT_HOST: 'Old Laptop' })).toThrow(
      /NEXUS_DEFAULT_HOST must be a host id/,
    );
  });
});
