import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter } from 'age-encryption';

/** Encrypts a file to an age recipient, streamed: memory stays at age's 64 KiB chunks. */
export async function encryptFile(input: string, output: string, recipient: string): Promise<void> {
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  const source = Readable.toWeb(createReadStream(input)) as unknown as ReadableStream<Uint8Array>;
  const encrypted = await encrypter.encrypt(source);
  await pipeline(
    Readable.fromWeb(encrypted as unknown as WebReadableStream<Uint8Array>),
    createWriteStream(output, { flags: 'wx', mode: 0o600 }),
  );
}

/** Decrypts an age file with any of the identities, streamed; fails on keys that do not fit. */
export async function decryptFile(
  input: string,
  output: string,
  identities: readonly string[],
): Promise<void> {
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  const source = Readable.toWeb(createReadStream(input)) as unknown as ReadableStream<Uint8Array>;
  const decrypted = await decrypter.decrypt(source);
  await pipeline(
    Readable.fromWeb(decrypted as unknown as WebReadableStream<Uint8Array>),
    createWriteStream(output, { flags: 'wx', mode: 0o600 }),
  );
}
