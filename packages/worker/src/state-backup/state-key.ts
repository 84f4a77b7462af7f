import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { ConfigError } from '@nexus/core';

/**
 * The key OpenClaw's state archives are encrypted to. It is made on the host and never leaves it
 * in clear: the file `state-key.txt` in the worker's state folder (mode 0600) holds the age
 * identity; the API keeps only a copy encrypted with a recovery passphrase the user chose and
 * keeps (`recovery-key-<time>.age`, one per key ever made on the host, so a host that was given
 * a new key can still have its older backups read), so a new machine can decrypt the backups of
 * one that was lost.
 */
export const RECOVERY_KEY_PREFIX = 'recovery-key-';

export function recoveryKeyName(at: Date): string {
  return `${RECOVERY_KEY_PREFIX}${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}.age`;
}
const MIN_PASSPHRASE = 12;

export function stateKeyPath(stateDir: string): string {
  return join(stateDir, 'state-key.txt');
}

export async function loadStateKey(stateDir: string): Promise<string | undefined> {
  const path = stateKeyPath(stateDir);
  if (!existsSync(path)) return undefined;
  const identity = (await readFile(path, 'utf8')).trim();
  if (!identity.startsWith('AGE-SECRET-KEY-1'))
    throw new ConfigError(`${path} does not hold an age identity (AGE-SECRET-KEY-1…).`);
  return identity;
}

/** A new identity, written to the state folder (never over an existing one), and its wrapped copy. */
export async function createStateKey(
  stateDir: string,
  passphrase: string,
): Promise<{ identity: string; recipient: string; wrapped: Uint8Array; path: string }> {
  if (passphrase.length < MIN_PASSPHRASE)
    throw new ConfigError(
      `The recovery passphrase must be at least ${String(MIN_PASSPHRASE)} characters; several random words are a good one.`,
    );
  const path = stateKeyPath(stateDir);
  if (existsSync(path))
    throw new ConfigError(
      `${path} exists already: this host has a state backup key. Keep it; delete it only to start over (the backups made with it then need the recovery passphrase).`,
    );
  const identity = await generateX25519Identity();
  const encrypter = new Encrypter();
  encrypter.setPassphrase(passphrase);
  const wrapped = await encrypter.encrypt(identity);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${identity}\n`, { mode: 0o600, flag: 'wx' });
  return { identity, recipient: await identityToRecipient(identity), wrapped, path };
}

/** The identity from its passphrase-wrapped copy; `undefined` when the passphrase does not open it. */
export async function unwrapStateKey(
  wrapped: Uint8Array,
  passphrase: string,
): Promise<string | undefined> {
  const decrypter = new Decrypter();
  decrypter.addPassphrase(passphrase);
  try {
    return (await decrypter.decrypt(wrapped, 'text')).trim();
  } catch {
    return undefined;
  }
}

export { identityToRecipient };
