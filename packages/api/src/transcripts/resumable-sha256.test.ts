import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ResumableSha256 } from './resumable-sha256.ts';

const native = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('ResumableSha256', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(new ResumableSha256().hex()).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(new ResumableSha256().update(Buffer.from('abc')).hex()).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(
      new ResumableSha256()
        .update(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))
        .hex(),
    ).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('agrees with node:crypto at every length around the block and padding edges', () => {
    const data = randomBytes(300);
    for (let length = 0; length <= 300; length += 1) {
      const bytes = data.subarray(0, length);
      expect(new ResumableSha256().update(bytes).hex(), `length ${length}`).toBe(native(bytes));
    }
  });

  it('gives the same digest whether the bytes come in one piece or many, saved and resumed between', () => {
    const data = randomBytes(5000);
    for (const cut of [1, 7, 63, 64, 65, 1000, 4999]) {
      const first = new ResumableSha256().update(data.subarray(0, cut));
      const saved = first.save();
      const resumed = ResumableSha256.restore(saved);
      expect(resumed.bytes).toBe(cut);
      for (let offset = cut; offset < data.byteLength; offset += 333)
        resumed.update(data.subarray(offset, Math.min(offset + 333, data.byteLength)));
      expect(resumed.hex(), `cut at ${cut}`).toBe(native(data));
      // hex() leaves the state as it was: more bytes can follow.
      expect(first.hex()).toBe(native(data.subarray(0, cut)));
      expect(first.update(data.subarray(cut)).hex()).toBe(native(data));
    }
  });

  it('keeps lengths beyond 4 GiB in its saved state', () => {
    const hash = ResumableSha256.restore(new ResumableSha256().save());
    // A state claiming 2^32 + 64 bytes round-trips its count exactly.
    const bytes = Buffer.from(hash.save(), 'base64');
    bytes.writeUInt32BE(1, 33);
    bytes.writeUInt32BE(64, 37);
    expect(ResumableSha256.restore(bytes.toString('base64')).bytes).toBe(2 ** 32 + 64);
  });

  it('refuses text that is not a saved state', () => {
    expect(() => ResumableSha256.restore('')).toThrow(/not a saved SHA-256 state/);
    expect(() => ResumableSha256.restore(Buffer.alloc(41, 2).toString('base64'))).toThrow(
      /not a saved SHA-256 state/,
    );
    const tooLong = Buffer.alloc(41 + 64);
    tooLong[0] = 1;
    expect(() => ResumableSha256.restore(tooLong.toString('base64'))).toThrow(
      /not a saved SHA-256 state/,
    );
    // Open-block bytes that disagree with the byte count.
    const inconsistent = Buffer.from(
      new ResumableSha256().update(Buffer.from('ab')).save(),
      'base64',
    );
    expect(() =>
      ResumableSha256.restore(Buffer.concat([inconsistent, Buffer.from('c')]).toString('base64')),
    ).toThrow(/not a saved SHA-256 state/);
  });
});
