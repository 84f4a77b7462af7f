import { ValidationError } from './errors.ts';

/**
 * Agent and session ids become blob paths and table keys, so they are checked against a strict
 * pattern before anything else sees them. Azure Table keys forbid `/ \ # ?` and control
 * characters; blob names treat `/` as a folder; `..` would climb out of a data folder. Letters,
 * digits, `.`, `_`, `-`, starting with a letter or digit, covers every id OpenClaw writes
 * (`main`, UUIDs, `<uuid>-topic-<n>`, `<ts>_<uuid>`).
 */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const MAX_ID_LENGTH = 128;

export type IdKind = 'agent id' | 'session id' | 'endpoint id' | 'webhook id';

/** Returns the id if it is safe as a key; otherwise a `ValidationError` naming the problem. */
export function validateId(kind: IdKind, value: string): string {
  const code = `invalid_${kind.replace(' ', '_')}`;
  if (value.length === 0)
    throw new ValidationError(code, `The ${kind} is empty; give a non-empty ${kind}.`);
  if (value.length > MAX_ID_LENGTH) {
    throw new ValidationError(
      code,
      `The ${kind} is ${value.length} characters long; at most ${MAX_ID_LENGTH} are allowed.`,
    );
  }
  if (!ID_PATTERN.test(value) || value.includes('..')) {
    throw new ValidationError(
      code,
      `The ${kind} ${JSON.stringify(value)} has characters that are not allowed; use letters, digits, '.', '_' and '-', starting with a letter or digit, and no '..'.`,
    );
  }
  return value;
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export function validateSha256(value: string): string {
  if (!SHA256_PATTERN.test(value)) {
    throw new ValidationError(
      'invalid_sha256',
      `${JSON.stringify(value.slice(0, 80))} is not a SHA-256 digest; send the 64 lowercase hex characters of the SHA-256 of the uncompressed transcript bytes.`,
    );
  }
  return value;
}
