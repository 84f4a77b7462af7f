import {
  GENERATION_ORIGINS,
  PayloadTooLargeError,
  type GenerationOrigin,
  scopeKey,
  sourceOf,
  type AgentScope,
  TRANSCRIPT_KINDS,
  ValidationError,
  validateId,
  validateScope,
  validateSha256,
  type ByteSource,
  type Generation,
  type SessionContext,
  type SessionRecord,
  type Storage,
  type TranscriptKind,
  type TranscriptSummary,
  type UsageBucket,
} from '@nexus/core';
import type { AgentDirectory } from './agent-directory.ts';
import { consolidate, consolidateIfDue } from './consolidate-generation.ts';
import { loadGenerationRows } from './generation-content.ts';
import { incrementBase, type IncrementBase } from './increment-base.ts';
import { deltaBlobKey, generationRowKey, ledgerBlobKey, transcriptBlobKey } from './keys.ts';
import {
  insertFirstGeneration,
  recordGeneration,
  type NewGeneration,
} from './record-generation.ts';
import type { GenerationStorage } from './rows.ts';
import { LedgerWriter } from './usage-ledger.ts';
import { VerifiedTranscript, type ContentEncoding } from './verified-transcript.ts';

export interface TranscriptUpload {
  readonly hostId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly sha256: string;
  readonly kind: string;
  readonly fileName: string;
  readonly encoding: ContentEncoding;
  /** The `Content-Length` the client announced, if any: checked before anything is read. */
  readonly contentLength: number | undefined;
  readonly context: SessionContext;
  /** The body as a stream, or whole when it is small (see `SMALL_UPLOAD_BYTES`). */
  readonly body: ByteSource | Uint8Array;
  /**
   * The SHA-256 of a stored generation of this session that the transcript extends: the body is
   * then only the bytes that follow it (an increment), and `sha256` still the hash of the whole.
   */
  readonly base?: string;
  /** How the worker came to upload it: `snapshot`, `completed` or `archive`. */
  readonly origin?: string;
}

export interface IngestResult {
  readonly status: 'created' | 'already_present';
  readonly generation: Generation;
  readonly session: SessionRecord;
}

export interface IngestDeps {
  readonly storage: Storage;
  readonly agents: AgentDirectory;
  readonly now: () => Date;
  readonly maxTranscriptBytes: number;
  /** Where large usage ledgers are spooled while a transcript streams in. */
  readonly spoolDir: string;
  /**
   * Told of a verified generation before its row is written (so a crash between the two leaves
   * it queued, not forgotten): the search index queues it, and drops it if no row follows. The
   * function it returns is called once the writing is over, written or not.
   */
  readonly onRecording?: (generation: GenerationToIndex) => Promise<() => void>;
}

/** A generation for the search index: whose it is, and where its new messages begin. */
export interface GenerationToIndex {
  readonly hostId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly sha256: string;
  /** 0, or for an increment the end of its base (its messages are indexed already). */
  readonly fromByte: number;
  readonly fromLine: number;
}

/**
 * Stores one transcript upload. Order matters for "nothing lost, nothing half-written":
 * 1. the bytes, verified (hash, transcript rules) before or while they are written; on any
 *    failure no blob exists;
 * 2. the usage ledger derived from them;
 * 3. the generation row; its existence is what "already present" means;
 * 4. the derived session row and the agent's last upload time, recomputed every time so a retry
 *    heals an earlier crash (3 and 4 are one transaction: a generation is never stored without
 *    its session).
 * The client is answered only after all four, so a 2xx means durably stored.
 *
 * An increment (`base` set) is checked by resuming its base's hash and summary, so its cost is
 * that of the new bytes; its blob holds only them (`generation-layout.ts`).
 */
export async function ingestTranscript(
  deps: IngestDeps,
  upload: TranscriptUpload,
): Promise<IngestResult> {
  const { storage, maxTranscriptBytes } = deps;
  const scope = validateScope(upload.hostId, upload.agentId);
  const sessionId = validateId('session id', upload.sessionId);
  const sha256 = validateSha256(upload.sha256);
  const kind = validateKind(upload.kind);
  const fileName = validateFileName(upload.fileName);
  const origin = upload.origin === undefined ? undefined : validateOrigin(upload.origin);
  if (upload.contentLength !== undefined && upload.contentLength > maxTranscriptBytes) {
    throw new PayloadTooLargeError(
      `The body is ${upload.contentLength} bytes; this server accepts transcripts up to ${maxTranscriptBytes} bytes (NEXUS_MAX_TRANSCRIPT_BYTES).`,
    );
  }

  const increment =
    upload.base === undefined
      ? undefined
      : await incrementBase(storage, scope, sessionId, upload.base);

  const ledger = new LedgerWriter(deps.spoolDir);
  let summary: TranscriptSummary;
  let usage: UsageBucket[];
  let inlineLedger: string | undefined;
  let kept: GenerationStorage;
  let blobCreated: boolean;
  try {
    const verified = new VerifiedTranscript({
      sessionId,
      sha256,
      encoding: upload.encoding,
      maxBytes: maxTranscriptBytes,
      ledger,
      ...(increment ? { resume: increment.resume } : {}),
    });
    // A small body is checked whole before anything is written; a larger one while it streams
    // into the blob store, which then stores nothing if a check throws. Content stored before
    // is read and checked again (the create-only put answers "exists").
    const { body } = upload;
    const whole = body instanceof Uint8Array ? verified.readWhole(body) : undefined;
    const source: ByteSource | Uint8Array =
      whole ?? verified.read(body instanceof Uint8Array ? [body] : body);
    blobCreated = await storeBytes(storage, increment, { scope, sessionId, sha256 }, source);
    const content = verified.result();
    ({ summary } = content);
    const baseSegments = increment?.row.segments;
    kept = {
      layout: increment ? { kind: 'delta', base: increment.row.sha256 } : { kind: 'whole' },
      lineEnd: content.lineEnd,
      ...(!increment ? { segments: 1 } : baseSegments ? { segments: baseSegments + 1 } : {}),
      ...(content.hashState === undefined ? {} : { hashState: content.hashState }),
    };
    usage = ledger.usage();
    inlineLedger = ledger.inline();
    if (inlineLedger === undefined) {
      await storage.blobs.putIfAbsent(
        ledgerBlobKey(scope, sessionId, sha256),
        await ledger.finish(),
        {
          contentType: 'application/x-ndjson',
        },
      );
    }
  } finally {
    await ledger.dispose();
  }

  const generation: Generation = {
    ...scope,
    sessionId,
    sha256,
    kind,
    fileName,
    receivedAt: deps.now().toISOString(),
    summary,
    context: upload.context,
    ...(origin === undefined ? {} : { origin }),
    ...(increment
      ? {
          extends: increment.row.sha256,
          storedBytes: summary.bytes - increment.row.bytes,
        }
      : {}),
  };
  const added: NewGeneration = { generation, inlineLedger, usage, storage: kept };
  // Queued durably first (a crash between the two leaves it queued); told when the row is
  // written, or its writing failed (the index then drops it). Content stored and recorded
  // before (a repeated upload) was queued by the upload that recorded it: not again.
  const recordedBefore =
    deps.onRecording !== undefined &&
    !blobCreated &&
    (await storage.tables.get(
      'generations',
      scopeKey(scope),
      generationRowKey(sessionId, sha256),
    )) !== undefined;
  const recorded = recordedBefore
    ? undefined
    : await deps.onRecording?.({
        ...scope,
        sessionId,
        sha256,
        fromByte: increment?.row.bytes ?? 0,
        fromLine: increment?.row.generation.summary.lines ?? 0,
      });
  // Most uploads are a session's first: its three rows in one transaction, without asking first.
  // A generation row is only ever written in one transaction with its session row, so a session
  // without a session row has no generations. If the session (or this content) exists, the
  // transaction writes nothing and the general path records the generation with the session
  // recomputed from all of its generations.
  const record = async () => {
    const first = increment ? undefined : await insertFirstGeneration(storage, added);
    if (first) return { created: true, stored: generation, session: first };
    return recordGeneration(storage, scope, sessionId, added);
  };
  // The agent's row in the list of agents, beside: written at its first upload only.
  let written;
  try {
    written = await Promise.all([record(), deps.agents.ensure(scope, generation.receivedAt)]);
  } finally {
    recorded?.();
  }
  const [{ created, stored, session }] = written;
  // Also when it was stored already: a retry after a crash mid-consolidation finishes it.
  if (increment) await consolidateIfDue(storage, scope, sessionId, sha256, kept.segments);
  if (!created && blobCreated && !increment)
    await adoptWhole(storage, { scope, sessionId, sha256 });
  return { status: created ? 'created' : 'already_present', generation: stored, session };
}

interface BlobPlace {
  readonly scope: AgentScope;
  readonly sessionId: string;
  readonly sha256: string;
}

/**
 * Stores the verified bytes: whole, or an increment's new bytes. An increment of content stored
 * already is read to its end (so its checks run) and not kept. `true` when a blob was written.
 */
async function storeBytes(
  storage: Storage,
  increment: IncrementBase | undefined,
  place: BlobPlace,
  source: ByteSource | Uint8Array,
): Promise<boolean> {
  const { scope, sessionId, sha256 } = place;
  if (increment && (await generationExists(storage, place))) {
    await readToEnd(sourceOf(source));
    return false;
  }
  const key = (increment ? deltaBlobKey : transcriptBlobKey)(scope, sessionId, sha256);
  const { created } = await storage.blobs.putIfAbsent(key, source, {
    contentType: 'application/x-ndjson',
  });
  return created;
}

async function generationExists(storage: Storage, place: BlobPlace): Promise<boolean> {
  const row = await storage.tables.get(
    'generations',
    scopeKey(place.scope),
    generationRowKey(place.sessionId, place.sha256),
  );
  return row !== undefined;
}

/** Reads a source for its checks (which throw from it), keeping nothing. */
async function readToEnd(source: ByteSource): Promise<void> {
  const reader = source[Symbol.asyncIterator]();
  while (!(await reader.next()).done);
}

/**
 * Content sent whole that was stored before as an increment (or within a consolidated blob): the
 * new whole blob becomes its layout, exactly as a consolidation would make it, and the blobs it
 * makes redundant go. (Deleting the new blob instead could race a consolidation adopting it.)
 */
async function adoptWhole(storage: Storage, place: BlobPlace): Promise<void> {
  const { scope, sessionId, sha256 } = place;
  const rows = await loadGenerationRows(storage, scope, sessionId);
  const row = rows.get(sha256);
  if (row && row.layout.kind !== 'whole') await consolidate(storage, scope, sessionId, row, rows);
}

function validateOrigin(origin: string): GenerationOrigin {
  if ((GENERATION_ORIGINS as readonly string[]).includes(origin)) return origin as GenerationOrigin;
  throw new ValidationError(
    'invalid_origin',
    `origin ${JSON.stringify(origin.slice(0, 40))} is not known; use one of ${GENERATION_ORIGINS.join(', ')}, or leave it out.`,
  );
}

function validateKind(kind: string): TranscriptKind {
  if ((TRANSCRIPT_KINDS as readonly string[]).includes(kind)) return kind as TranscriptKind;
  throw new ValidationError(
    'invalid_kind',
    `kind ${JSON.stringify(kind)} is not known; use one of ${TRANSCRIPT_KINDS.join(', ')}.`,
  );
}

// OpenClaw's file names are ASCII (`<uuid>.jsonl.reset.2026-02-02T20-29-47.344Z` and the like).
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,254}$/;

function validateFileName(fileName: string): string {
  if (!FILE_NAME.test(fileName)) {
    throw new ValidationError(
      'invalid_file_name',
      `fileName ${JSON.stringify(fileName.slice(0, 80))} is not a plain file name; send the transcript's base name (letters, digits, '.', '_', '-', ':', '+'; at most 255 characters; no folders).`,
    );
  }
  return fileName;
}
