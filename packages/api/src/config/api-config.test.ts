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

  it('picks the search engine: Azure AI Search when its endpoint is set, else SQLite beside embedded storage', () => {
    const azure = { AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' };
    expect(loadApiConfig({}).search).toEqual({ kind: 'sqlite' });
    expect(loadApiConfig({ NEXUS_SEARCH: 'off' }).search).toEqual({ kind: 'off' });
    expect(loadApiConfig(azure).search).toEqual({ kind: 'off' });
    expect(
      loadApiConfig({
        ...azure,
        NEXUS_SEARCH_ENDPOINT: 'https://my-search.search.windows.net',
        NEXUS_SEARCH_KEY: 'admin-key',
      }).search,
    ).toEqual({
      kind: 'azure',
      endpoint: 'https://my-search.search.windows.net',
      indexName: 'nexus-messages',
      key: 'admin-key',
    });
    // No key: Entra ID.
    expect(
      loadApiConfig({
        NEXUS_SEARCH_ENDPOINT: 'https://my-search.search.windows.net',
        NEXUS_SEARCH_INDEX: 'team-a',
      }).search,
    ).toEqual({
      kind: 'azure',
      endpoint: 'https://my-search.search.windows.net',
      indexName: 'team-a',
    });
  });

  it.each([
    [{ NEXUS_SEARCH_KEY: 'k' }, /NEXUS_SEARCH_KEY is set without NEXUS_SEARCH_ENDPOINT/],
    [
      { NEXUS_SEARCH_ENDPOINT: 'my-search' },
      /NEXUS_SEARCH_ENDPOINT must be the Azure AI Search service URL/,
    ],
    [{ NEXUS_SEARCH_ENDPOINT: 'http://my-search.search.windows.net' }, /must use https/],
    [
      { NEXUS_SEARCH_ENDPOINT: 'https://s.search.windows.net', NEXUS_SEARCH_INDEX: 'Bad_Name' },
      /NEXUS_SEARCH_INDEX must be 1 to 128 lower-case letters/,
    ],
  ])('refuses search settings %j, saying what to fix', (env, message) => {
    expect(() => loadApiConfig(env)).toThrow(message);
  });
});
