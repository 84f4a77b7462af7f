import { valueAt } from './provider-presets.ts';

/** Fields (dotted paths) of a JSON body: called, a string field; `.number`, a number field. */
export type JsonFields = ((path: string) => string | undefined) & {
  readonly number: (path: string) => number | undefined;
};

/**
 * The fields of a JSON object body, parsed at most once however many are read (by the signature
 * check, the handshakes, the dedupe key and the event type); none for other bodies.
 */
export function jsonFields(body: Uint8Array): JsonFields {
  let object: unknown;
  let parsed = false;
  const value = (path: string): unknown => {
    if (!parsed) {
      parsed = true;
      try {
        object = JSON.parse(Buffer.from(body).toString('utf8'));
      } catch {
        object = undefined;
      }
    }
    return valueAt(object, path);
  };
  const text = (path: string) => {
    const found = value(path);
    return typeof found === 'string' ? found : undefined;
  };
  return Object.assign(text, {
    number: (path: string) => {
      const found = value(path);
      return typeof found === 'number' ? found : undefined;
    },
  });
}
