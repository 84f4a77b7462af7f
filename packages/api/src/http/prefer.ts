/**
 * Whether a `Prefer` header (RFC 7240) asks for `return=minimal`: preferences are separated by
 * commas, each a token with an optional value and parameters after semicolons; names are
 * case-insensitive, and a value may be quoted.
 */
export function prefersMinimal(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((preference) => {
    const [name = '', value = ''] = (preference.split(';')[0] ?? '').split('=');
    return (
      name.trim().toLowerCase() === 'return' &&
      value
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase() === 'minimal'
    );
  });
}
