import { describe, expect, it } from 'vitest';
import { prefersMinimal } from './prefer.ts';

describe('prefersMinimal', () => {
  it('finds return=minimal among other preferences, in any case, quoted or with parameters', () => {
    for (const header of [
      'return=minimal',
      'Return=Minimal',
      'respond-async, return=minimal',
      'return = "minimal"; foo=bar',
      'wait=10,return=minimal',
    ])
      expect(prefersMinimal(header)).toBe(true);
  });

  it('does not take other returns, other preferences or a missing header for it', () => {
    for (const header of [
      undefined,
      '',
      'return=representation',
      'minimal',
      'x-return=minimal',
      'return=minimalist',
    ])
      expect(prefersMinimal(header)).toBe(false);
  });
});
