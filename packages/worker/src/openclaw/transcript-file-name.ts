/**
 * What a file in an OpenClaw `sessions/` folder is, from its name alone (OPENCLAW.md, "Files in
 * a sessions folder"). Pure: the table test in `transcript-file-name.test.ts` covers every form.
 */
export type TranscriptFileName =
  | {
      readonly role: 'transcript';
      readonly kind: 'live' | 'reset' | 'deleted' | 'bak';
      /** The `<file>` part before `.jsonl`: `<uuid>`, `<uuid>-topic-<n>`, `<ts>_<uuid>`. */
      readonly stem: string;
      /** zstd-compressed archive (`.zst`). */
      readonly compressed: boolean;
    }
  | { readonly role: 'lock'; readonly stem: string }
  | { readonly role: 'ignored'; readonly reason: string };

/** `<ts>` is an ISO time with `:` replaced by `-`, e.g. `2026-02-02T20-29-47.344Z`. */
const TS = String.raw`\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?Z`;
/** A session file's stem: an id without dots, optionally behind a fork's `<ts>_` prefix. */
const STEM = String.raw`(?:${TS}_)?[^./\\\s]+`;
const ARCHIVE = new RegExp(
  String.raw`^(${STEM})\.jsonl\.(reset|deleted|bak)\.(${TS})(?:\.[0-9a-f]{32})?(\.zst)?$`,
);
const PRIMARY = new RegExp(String.raw`^(${STEM})\.jsonl$`);
const LOCK = new RegExp(String.raw`^(${STEM})\.jsonl\.lock$`);
/** Sidecars share the session id prefix; a naive `*.jsonl*` glob would pick them up. */
const SIDECAR = /\.(trajectory|checkpoint\.[0-9a-f-]+)\.jsonl$|\.trajectory-path\.json$/;

export function classifyFileName(name: string): TranscriptFileName {
  if (name === 'sessions.json' || name.startsWith('sessions.json.')) {
    return { role: 'ignored', reason: 'the session index, its lock or backup' };
  }
  if (name.endsWith('.tmp'))
    return { role: 'ignored', reason: 'a temporary file OpenClaw is writing' };
  if (SIDECAR.test(name))
    return { role: 'ignored', reason: 'a trajectory or checkpoint sidecar, not a transcript' };
  const lock = LOCK.exec(name);
  if (lock?.[1]) return { role: 'lock', stem: lock[1] };
  const archive = ARCHIVE.exec(name);
  if (archive?.[1] && archive[2]) {
    return {
      role: 'transcript',
      kind: archive[2] as 'reset' | 'deleted' | 'bak',
      stem: archive[1],
      compressed: archive[4] !== undefined,
    };
  }
  const primary = PRIMARY.exec(name);
  if (primary?.[1]) {
    return { role: 'transcript', kind: 'live', stem: primary[1], compressed: false };
  }
  return { role: 'ignored', reason: 'not a name OpenClaw gives transcripts' };
}
