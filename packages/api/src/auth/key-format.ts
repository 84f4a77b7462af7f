import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Keys Nexus creates name their own row: `nxk_<id>_<secret>`, the id 12 base32 characters (what
 * lists show), the secret 256 random bits. Only the SHA-256 of the whole key is stored: a
 * leaked table does not hand out keys, and the id finds the row without trying every key.
 * Enrolment codes are the same shape with `nxe_` and a 120-bit secret, short enough to paste
 * into a terminal on the new host.
 */
const KEY_PATTERN = /^nxk_([a-z2-7]{12})_[A-Za-z0-9_-]{43}$/;
const CODE_PATTERN = /^nxe_([a-z2-7]{12})_[a-z2-7]{24}$/;

export interface MintedSecret {
  /** The whole key or code, shown once. */
  readonly secret: string;
  readonly id: string;
  readonly hash: string;
}

export function mintKey(): MintedSecret {
  const id = base32(randomBytes(8)).slice(0, 12);
  const secret = `nxk_${id}_${randomBytes(32).toString('base64url')}`;
  return { secret, id, hash: hashSecret(secret) };
}

export function mintEnrolmentCode(): MintedSecret {
  const id = base32(randomBytes(8)).slice(0, 12);
  const secret = `nxe_${id}_${base32(randomBytes(15)).slice(0, 24)}`;
  return { secret, id, hash: hashSecret(secret) };
}

/** The row id a presented key names, when it has the shape of a created key. */
export function keyIdOf(presented: string): string | undefined {
  return KEY_PATTERN.exec(presented)?.[1];
}

export function enrolmentIdOf(presented: string): string | undefined {
  return CODE_PATTERN.exec(presented)?.[1];
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET.charAt((value << (5 - bits)) & 31);
  return out;
}
