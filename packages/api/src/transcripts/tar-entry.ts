/**
 * The 512-byte headers of a tar archive (POSIX ustar, with a PAX header for a name that does not
 * fit ustar's fields), for streaming stored transcripts out as one file. Pure.
 */
const BLOCK = 512;

export interface TarEntry {
  /** The path inside the archive, `/`-separated. */
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The header block(s) that go before an entry's bytes. */
export function tarHeader(entry: TarEntry): Uint8Array {
  const fits = Buffer.byteLength(entry.name) <= 100;
  if (fits) return ustarHeader(entry.name, entry.size, entry.mtimeMs, '0');
  // PAX: an extended header whose body says `path=<name>`, then the entry under a short name.
  const record = paxRecord('path', entry.name);
  const pax = ustarHeader(
    `PaxHeader/${shortName(entry.name)}`,
    record.byteLength,
    entry.mtimeMs,
    'x',
  );
  return Buffer.concat([
    pax,
    record,
    padding(record.byteLength),
    ustarHeader(shortName(entry.name), entry.size, entry.mtimeMs, '0'),
  ]);
}

/** Zeros up to the next block boundary after `size` bytes of content. */
export function padding(size: number): Uint8Array {
  const rest = size % BLOCK;
  return new Uint8Array(rest === 0 ? 0 : BLOCK - rest);
}

/** Two zero blocks end an archive. */
export function tarEnd(): Uint8Array {
  return new Uint8Array(2 * BLOCK);
}

function ustarHeader(name: string, size: number, mtimeMs: number, type: '0' | 'x'): Uint8Array {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100, 'ascii');
  header.write('0000000\0', 108, 'ascii');
  header.write('0000000\0', 116, 'ascii');
  header.write(`${octal(size, 11)}\0`, 124, 'ascii');
  header.write(`${octal(Math.floor(mtimeMs / 1000), 11)}\0`, 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write(type, 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${octal(sum, 6)}\0 `, 148, 'ascii');
  return header;
}

function octal(value: number, digits: number): string {
  return Math.max(0, value).toString(8).padStart(digits, '0');
}

/** `"<length> <key>=<value>\n"`, where the length counts the whole record, itself included. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  while (bodyLength + String(length).length !== length) length = bodyLength + String(length).length;
  return Buffer.from(`${String(length)}${body}`, 'utf8');
}

function shortName(name: string): string {
  return Buffer.from(name)
    .subarray(-90)
    .toString('utf8')
    .replace(/^[^/]*\//, '');
}
