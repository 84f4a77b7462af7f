import { createHash, type Hash } from 'node:crypto';
import {
  coerceError,
  queryAll,
  scopeKey,
  scopeOfKey,
  validateId,
  validateSha256,
  type AgentScope,
  type Storage,
} from '@nexus/core';
import { AgentDirectory } from '../transcripts/agent-directory.ts';
import { ingestTranscript } from '../transcripts/ingest-transcript.ts';
import { consolidate } from '../transcripts/consolidate-generation.ts';
import { AGENTS_PARTITION, deltaBlobKey, transcriptBlobKey } from '../transcripts/keys.ts';
import { generationRowFromEntity, type GenerationRow } from '../transcripts/rows.ts';

/**
 * What `nexus fsck` finds:
 * - `corrupt`: stored bytes that do not hash to their generation's SHA-256 (a whole transcript, or
 *   a generation rebuilt from its base and increment), or a blob the API does not write; it
 *   cannot be repaired here: the client still has the file, or it is lost.
 * - `missing_rows`: a blob without its generation or session row (a crash after the blob was
 *   written, a damaged database): repaired from the stored bytes, which are content-addressed and
 *   self-describing.
 * - `missing_blob`: a generation row whose bytes are gone: reported, as nothing can bring them back.
 * - `unreferenced`: a blob no row reads (a consolidation interrupted half-way, an increment whose
 *   upload stopped before its rows). Repaired when that is safe: a whole blob is adopted as its
 *   generation's layout, a folded increment removed; an increment without any row is only
 *   reported (the worker's retry records it).
 */
export interface Finding {
  readonly kind: 'corrupt' | 'missing_rows' | 'missing_blob' | 'unreferenced';
  /** The blob's key. */
  readonly key: string;
  readonly detail: string;
}

export interface FsckReport {
  readonly blobs: number;
  readonly bytes: number;
  readonly generationRows: number;
  readonly findings: readonly Finding[];
  /** Keys of findings that were repaired (with `repair`). */
  readonly repaired: readonly string[];
}

export interface FsckOptions {
  readonly repair: boolean;
  /** Where a large transcript's usage ledger is spooled while it is re-read. */
  readonly spoolDir: string;
  readonly now?: () => Date;
  /** Called after each blob, for a progress line. */
  readonly onProgress?: (done: { blobs: number; bytes: number }) => void;
}

const BLOB_KEY = /^(transcripts|deltas)\/([^/]+)\/([^/]+)\/([0-9a-f]{64})\.jsonl$/;

/** The blobs of one session, by SHA-256 and size. */
interface SessionBlobs {
  readonly whole: Map<string, number>;
  readonly delta: Map<string, number>;
}

interface Check {
  readonly storage: Storage;
  readonly options: FsckOptions;
  readonly findings: Finding[];
  readonly repaired: string[];
  readonly directory: AgentDirectory;
  readonly now: () => Date;
  progress: { blobs: number; bytes: number };
}

/**
 * Checks every stored transcript against its hash and its rows, and every generation row against
 * its bytes; with `repair`, rebuilds the rows a blob is missing by ingesting its bytes again (the
 * upload path itself, so the rows are exactly what an upload writes). What the bytes do not hold
 * is restored as: kind `live`, file name `<session>.jsonl`, received now, no context.
 *
 * Each byte is read once: a whole blob is hashed in one pass that also checks every generation
 * lying within it (a copy of the hash at each one's length), and an increment resumes a copy of
 * its base's hash.
 */
export async function fsck(storage: Storage, options: FsckOptions): Promise<FsckReport> {
  const check: Check = {
    storage,
    options,
    findings: [],
    repaired: [],
    directory: new AgentDirectory(storage),
    now: options.now ?? (() => new Date()),
    progress: { blobs: 0, bytes: 0 },
  };
  const bySession = new Map<string, SessionBlobs>();
  const scopes = new Set<string>();
  for (const prefix of ['transcripts/', 'deltas/']) {
    for await (const info of storage.blobs.list(prefix)) {
      const match = BLOB_KEY.exec(info.key);
      if (!match) {
        // Nothing the API writes: reported, never skipped in silence.
        check.findings.push({
          kind: 'corrupt',
          key: info.key,
          detail: `not a blob the API stores (${prefix}<host>~<agent>/<session>/<sha256>.jsonl); remove it or move it out of the data`,
        });
        continue;
      }
      const [, kind, partition = '', sessionId = '', sha256 = ''] = match;
      if (!scopeOfKey(partition)) {
        check.findings.push({
          kind: 'corrupt',
          key: info.key,
          detail:
            'stored before hosts existed and not moved to a host; start the API once (it moves such data to NEXUS_DEFAULT_HOST), then run fsck again',
        });
        continue;
      }
      scopes.add(partition);
      const sessionKey = `${partition}/${sessionId}`;
      let blobs = bySession.get(sessionKey);
      if (!blobs)
        bySession.set(
          sessionKey,
          (blobs = { whole: new Map<string, number>(), delta: new Map<string, number>() }),
        );
      (kind === 'deltas' ? blobs.delta : blobs.whole).set(sha256, info.size);
    }
  }

  let generationRows = 0;
  for (const partition of await listScopeKeys(storage, scopes)) {
    const scope = scopeOfKey(partition);
    if (!scope) continue;
    const rowsBySession = new Map<string, Map<string, GenerationRow>>();
    for await (const entity of queryAll(storage.tables, 'generations', partition)) {
      generationRows += 1;
      const row = generationRowFromEntity(entity);
      const { sessionId } = row.generation;
      let rows = rowsBySession.get(sessionId);
      if (!rows) rowsBySession.set(sessionId, (rows = new Map<string, GenerationRow>()));
      rows.set(row.sha256, row);
    }
    const sessions = new Set(rowsBySession.keys());
    for (const key of bySession.keys())
      if (key.startsWith(`${partition}/`)) sessions.add(key.slice(partition.length + 1));
    for (const sessionId of [...sessions].sort()) {
      await checkSession(check, scope, sessionId, {
        rows: rowsBySession.get(sessionId) ?? new Map<string, GenerationRow>(),
        blobs: bySession.get(`${partition}/${sessionId}`) ?? {
          whole: new Map<string, number>(),
          delta: new Map<string, number>(),
        },
      });
    }
  }
  const { blobs, bytes } = check.progress;
  return { blobs, bytes, generationRows, findings: check.findings, repaired: check.repaired };
}

async function checkSession(
  check: Check,
  scope: AgentScope,
  sessionId: string,
  stored: { rows: Map<string, GenerationRow>; blobs: SessionBlobs },
): Promise<void> {
  const { storage, findings } = check;
  const { rows, blobs } = stored;
  const partition = scopeKey(scope);
  const wholeKey = (sha: string) => transcriptBlobKey(scope, sessionId, sha);
  const deltaKey = (sha: string) => deltaBlobKey(scope, sessionId, sha);
  const counted = (size: number) => {
    check.progress.blobs += 1;
    check.progress.bytes += size;
    check.options.onProgress?.(check.progress);
  };
  /** The hash after each generation whose bytes were read, for increments to resume. */
  const states = new Map<string, Hash>();
  const bad = new Set<string>();
  /** Whole blobs of generations kept otherwise, adopted once everything was read. */
  const adopt: GenerationRow[] = [];

  // Whole blobs: each read once, checking the generations that lie within it on the way. The
  // session row is read once for them all (a rebuild writes it).
  const within = withinRoots(rows);
  let hasSession =
    blobs.whole.size > 0 &&
    (await storage.tables.get('sessions', partition, sessionId)) !== undefined;
  for (const [sha, size] of blobs.whole) {
    const row = rows.get(sha);
    const offsets = row?.layout.kind === 'whole' ? (within.get(sha) ?? []) : [];
    const read = await hashWithin(storage, wholeKey(sha), offsets);
    counted(size);
    if (read.sha256 !== sha) {
      bad.add(sha);
      findings.push({
        kind: 'corrupt',
        key: wholeKey(sha),
        detail: `its bytes hash to ${read.sha256}, not to the SHA-256 in its name; upload the file again if the OpenClaw host still has it`,
      });
      continue;
    }
    for (const [inner, actual] of read.within) {
      if (actual.digest !== inner) {
        bad.add(inner);
        findings.push({
          kind: 'corrupt',
          key: wholeKey(sha),
          detail: `generation ${inner}, which lies within it, hashes to ${actual.digest}`,
        });
      }
      states.set(inner, actual.state);
    }
    states.set(sha, read.state);
    if (row === undefined || !hasSession) {
      const missing = [
        ...(row === undefined ? ['generation row'] : []),
        ...(hasSession ? [] : ['session row']),
      ].join(' and ');
      if (await missingRows(check, { scope, sessionId, sha256: sha, size }, missing))
        hasSession = true;
    } else if (row.layout.kind !== 'whole') {
      adopt.push(row);
    }
  }

  // Increments, each after its base: a copy of the base's hash, then the increment's bytes.
  const resume = async (sha: string, seen: Set<string>): Promise<Hash | undefined> => {
    const known = states.get(sha);
    if (known) return known;
    const row = rows.get(sha);
    if (row?.layout.kind !== 'delta' || seen.has(sha) || bad.has(sha)) return undefined;
    seen.add(sha);
    const base = await resume(row.layout.base, seen);
    if (!base || !blobs.delta.has(sha)) return undefined;
    const hash = base.copy();
    const { body } = await storage.blobs.get(deltaKey(sha));
    for await (const chunk of body) hash.update(chunk);
    counted(blobs.delta.get(sha) ?? 0);
    const actual = hash.copy().digest('hex');
    if (actual !== sha) {
      bad.add(sha);
      findings.push({
        kind: 'corrupt',
        key: deltaKey(sha),
        detail: `generation ${sha}, its base's bytes followed by these, hashes to ${actual}; upload the file again if the OpenClaw host still has it`,
      });
      return undefined;
    }
    states.set(sha, hash);
    return hash;
  };
  for (const row of rows.values()) {
    const { layout, sha256: sha } = row;
    if (layout.kind === 'whole' && !blobs.whole.has(sha)) {
      findings.push({
        kind: 'missing_blob',
        key: wholeKey(sha),
        detail: `generation row ${partition}/${sessionId}|${sha} has no stored bytes; they cannot be rebuilt, upload the file again if the OpenClaw host still has it`,
      });
    } else if (layout.kind === 'delta' && !blobs.delta.has(sha)) {
      findings.push({
        kind: 'missing_blob',
        key: deltaKey(sha),
        detail: `generation row ${partition}/${sessionId}|${sha} is an increment whose bytes are gone; upload the file again if the OpenClaw host still has it`,
      });
    } else if (layout.kind === 'delta' && !bad.has(sha)) {
      if ((await resume(sha, new Set())) === undefined && !bad.has(sha)) {
        findings.push({
          kind: 'missing_blob',
          key: deltaKey(sha),
          detail: `generation ${sha} extends ${layout.base}, whose bytes cannot be read (see the findings about it)`,
        });
      }
    }
  }

  // Increments no row reads.
  for (const [sha, size] of blobs.delta) {
    const row = rows.get(sha);
    if (row?.layout.kind === 'delta') continue;
    counted(size);
    const key = deltaKey(sha);
    if (row === undefined) {
      findings.push({
        kind: 'unreferenced',
        key,
        detail:
          "an increment without its generation row (its upload stopped before the rows); the worker's next run records it",
      });
      continue;
    }
    findings.push({
      kind: 'unreferenced',
      key,
      detail:
        'an increment already folded into a whole blob (a consolidation stopped before its clean-up)',
    });
    if (check.options.repair) {
      await storage.blobs.delete(key);
      check.repaired.push(key);
    }
  }
  for (const row of adopt) await unreferencedWhole(check, { scope, sessionId, row, rows });
}

/** For each whole generation, the generations whose bytes lie within it (at any depth). */
function withinRoots(rows: ReadonlyMap<string, GenerationRow>): Map<string, GenerationRow[]> {
  const roots = new Map<string, GenerationRow[]>();
  for (const row of rows.values()) {
    let root = row;
    const seen = new Set<string>();
    while (root.layout.kind === 'within' && !seen.has(root.sha256)) {
      seen.add(root.sha256);
      const next = rows.get(root.layout.of);
      if (!next) break;
      root = next;
    }
    if (root === row || root.layout.kind !== 'whole') continue;
    const list = roots.get(root.sha256) ?? [];
    list.push(row);
    roots.set(root.sha256, list);
  }
  return roots;
}

/** A blob's SHA-256, with the hash of its first `bytes` bytes for each generation within it. */
async function hashWithin(
  storage: Storage,
  key: string,
  inner: readonly GenerationRow[],
): Promise<{
  sha256: string;
  state: Hash;
  within: Map<string, { digest: string; state: Hash }>;
}> {
  const hash = createHash('sha256');
  const marks = [...inner].sort((a, b) => a.bytes - b.bytes);
  const within = new Map<string, { digest: string; state: Hash }>();
  let offset = 0;
  let next = 0;
  const mark = () => {
    while (next < marks.length && marks[next]?.bytes === offset) {
      const state = hash.copy();
      within.set(marks[next]?.sha256 ?? '', { digest: state.copy().digest('hex'), state });
      next += 1;
    }
  };
  mark();
  const { body } = await storage.blobs.get(key);
  for await (const chunk of body) {
    let at = 0;
    while (at < chunk.byteLength) {
      const stop = marks[next]?.bytes;
      const take =
        stop === undefined ? chunk.byteLength - at : Math.min(chunk.byteLength - at, stop - offset);
      hash.update(chunk.subarray(at, at + take));
      at += take;
      offset += take;
      mark();
    }
  }
  return { sha256: hash.copy().digest('hex'), state: hash, within };
}

/** Reports a blob's missing rows and, with `repair`, rebuilds them: `true` when it did. */
async function missingRows(
  check: Check,
  blob: { scope: AgentScope; sessionId: string; sha256: string; size: number },
  missing: string,
): Promise<boolean> {
  const key = transcriptBlobKey(blob.scope, blob.sessionId, blob.sha256);
  check.findings.push({
    kind: 'missing_rows',
    key,
    detail: `no ${missing}`,
  });
  if (!check.options.repair) return false;
  try {
    await rebuild(check.storage, check.directory, check.options.spoolDir, check.now, blob);
    check.repaired.push(key);
    return true;
  } catch (error) {
    check.findings.push({
      kind: 'corrupt',
      key,
      detail: `its rows could not be rebuilt: ${coerceError(error).message}`,
    });
    return false;
  }
}

/** A whole blob of a generation kept otherwise: adopted as its layout, as a consolidation would. */
async function unreferencedWhole(
  check: Check,
  target: {
    scope: AgentScope;
    sessionId: string;
    row: GenerationRow;
    rows: ReadonlyMap<string, GenerationRow>;
  },
): Promise<void> {
  const { scope, sessionId, row, rows } = target;
  const key = transcriptBlobKey(scope, sessionId, row.sha256);
  check.findings.push({
    kind: 'unreferenced',
    key,
    detail: `whole bytes of generation ${row.sha256}, which its row keeps as ${row.layout.kind} (a consolidation stopped half-way)`,
  });
  if (!check.options.repair) return;
  if (await consolidate(check.storage, scope, sessionId, row, rows)) check.repaired.push(key);
}

async function rebuild(
  storage: Storage,
  agents: AgentDirectory,
  spoolDir: string,
  now: () => Date,
  blob: { scope: AgentScope; sessionId: string; sha256: string; size: number },
): Promise<void> {
  const sessionId = validateId('session id', blob.sessionId);
  const sha256 = validateSha256(blob.sha256);
  const { body } = await storage.blobs.get(transcriptBlobKey(blob.scope, sessionId, sha256));
  await ingestTranscript(
    { storage, agents, now, maxTranscriptBytes: Number.MAX_SAFE_INTEGER, spoolDir },
    {
      ...blob.scope,
      sessionId,
      sha256,
      kind: 'live',
      fileName: `${sessionId}.jsonl`,
      encoding: 'identity',
      contentLength: blob.size,
      context: {},
      body,
    },
  );
}

/**
 * The agents of every host, as scope keys, from the `agents` rows and from the blobs found (a lost
 * `agents` row hides none).
 */
async function listScopeKeys(storage: Storage, fromBlobs: ReadonlySet<string>): Promise<string[]> {
  const keys = new Set(fromBlobs);
  for await (const row of queryAll(storage.tables, 'agents', AGENTS_PARTITION))
    keys.add(row.rowKey);
  return [...keys].sort();
}
