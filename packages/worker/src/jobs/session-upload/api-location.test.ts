import { describe, expect, it } from 'vitest';
import { uploadConcurrency } from './api-location.ts';

describe('uploadConcurrency', () => {
  it.each([
    ['http://127.0.0.1:8080', 4],
    ['http://localhost:8080', 4],
    ['http://[::1]:8080', 4],
    ['https://nexus.azurewebsites.net/api', 8],
    ['http://192.168.1.20:8080', 8],
    ['http://127.0.0.1.example.com', 8],
  ])('uploads to %s %i at a time when the config does not say', (url, expected) => {
    expect(uploadConcurrency(undefined, url)).toBe(expected);
  });

  it('keeps the configured number whatever the address', () => {
    expect(uploadConcurrency(2, 'https://nexus.example.com')).toBe(2);
    expect(uploadConcurrency(16, 'http://127.0.0.1')).toBe(16);
  });
});
