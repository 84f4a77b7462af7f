import { describe, expect, it } from 'vitest';
import { appSettings, loadApiConfig } from './api-config.ts';

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

  it('takes the owner’s mask patterns from NEXUS_MASK_PATTERNS into the app’s masker', () => {
    const config = loadApiConfig({ NEXUS_MASK_PATTERNS: '["ACME-[0-9]{6}"]' });
    expect(appSettings(config).masker.mask('order ACME-123456')).toBe('order [masked custom]');
    expect(appSettings(loadApiConfig({})).masker.mask('order ACME-123456')).toBe(
      'order ACME-123456',
    );
    expect(() => loadApiConfig({ NEXUS_MASK_PATTERNS: '["("]' })).toThrow(
      /NEXUS_MASK_PATTERNS\[0\] is not a valid regular expression/,
    );
  });
});
