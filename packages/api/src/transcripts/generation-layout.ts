/**
 * Where a generation's bytes are. A transcript normally only grows, so most generations of a live
 * session are the previous one plus new lines; storing each whole would grow quadratically with
 * the session (a session that reaches 20 MB over 200 snapshots: about 2 GB).
 *
 * - `whole`: its own blob (`transcripts/…`) holds every byte.
 * - `delta`: its content is its base's content followed by its own blob (`deltas/…`).
 * - `within`: its content is the first `bytes` bytes of generation `of`'s content: what a
 *   consolidation leaves of the generations it folded into one whole blob.
 *
 * Pure: the rows of one session in, the blobs to read out.
 */

export type GenerationLayout =
  | { readonly kind: 'whole' }
  | { readonly kind: 'delta'; readonly base: string }
  | { readonly kind: 'within'; readonly of: string };

export interface LaidOutGeneration {
  readonly sha256: string;
  /** The length of its whole content. */
  readonly bytes: number;
  readonly layout: GenerationLayout;
}

/** The first `length` bytes of the blob of `sha256` of that kind. */
export interface Segment {
  readonly blob: 'whole' | 'delta';
  readonly sha256: string;
  readonly length: number;
}

/**
 * Reading a generation touches at most this many blobs (plus one while a consolidation is due):
 * an increment that would make more is folded with its chain into one whole blob.
 */
export const MAX_SEGMENTS = 32;

/**
 * The blobs that make up a generation's content, in order. Throws `LayoutError` when a row names
 * a generation that is not there, or the layout loops (damaged rows; `nexus fsck` reports them).
 */
export function segmentsOf(
  sha256: string,
  rows: ReadonlyMap<string, LaidOutGeneration>,
): Segment[] {
  const visiting = new Set<string>();
  const resolve = (sha: string): Segment[] => {
    const row = rows.get(sha);
    if (row === undefined) throw new LayoutError(`generation ${sha} is named but not stored`);
    if (visiting.has(sha)) throw new LayoutError(`the layout of generation ${sha} loops`);
    visiting.add(sha);
    const { layout } = row;
    let segments: Segment[];
    if (layout.kind === 'whole') {
      segments = [{ blob: 'whole', sha256: sha, length: row.bytes }];
    } else if (layout.kind === 'delta') {
      const base = rows.get(layout.base);
      const baseSegments = resolve(layout.base);
      const added = row.bytes - (base?.bytes ?? 0);
      if (added < 0) throw new LayoutError(`generation ${sha} is shorter than its base`);
      segments =
        added === 0
          ? baseSegments
          : [...baseSegments, { blob: 'delta', sha256: sha, length: added }];
    } else {
      segments = truncate(resolve(layout.of), row.bytes, sha);
    }
    visiting.delete(sha);
    return segments;
  };
  return resolve(sha256);
}

function truncate(segments: readonly Segment[], bytes: number, sha: string): Segment[] {
  const kept: Segment[] = [];
  let left = bytes;
  for (const segment of segments) {
    if (left === 0) break;
    const length = Math.min(left, segment.length);
    kept.push({ ...segment, length });
    left -= length;
  }
  if (left > 0) throw new LayoutError(`generation ${sha} is longer than the one it lies within`);
  return kept;
}

/**
 * What folding generation `sha256` into one whole blob changes: the generations whose own blob is
 * read in full (each a prefix of it) then lie within it, and their blobs can go. A blob read only
 * in part (a longer generation this one lies within) stays.
 */
export function consolidation(
  sha256: string,
  rows: ReadonlyMap<string, LaidOutGeneration>,
): { readonly folded: readonly Segment[] } {
  const sizes = new Map<string, number>();
  for (const row of rows.values()) {
    if (row.layout.kind === 'whole') sizes.set(`whole:${row.sha256}`, row.bytes);
    if (row.layout.kind === 'delta') {
      const base = rows.get(row.layout.base);
      sizes.set(`delta:${row.sha256}`, row.bytes - (base?.bytes ?? 0));
    }
  }
  const folded = segmentsOf(sha256, rows).filter(
    (segment) => sizes.get(`${segment.blob}:${segment.sha256}`) === segment.length,
  );
  return { folded };
}

/** Rows of a session that do not describe its bytes consistently. */
export class LayoutError extends Error {
  override readonly name = 'LayoutError';
}
