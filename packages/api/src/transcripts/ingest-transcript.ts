import {
  AlreadyExistsError,
  NotFoundError,
  PayloadTooLargeError,
  TRANSCRIPT_KINDS,
  ValidationError,
  validateId,
  validateSha256,
  type ByteSource,
  type Generation,
  type Page,
  type StoredEntity,
  type SessionContext,
  type SessionRecord,
  type Storage,
  type TranscriptKind,
  type TranscriptSummary,
  type UsageBucket,
} from '@nexus/core';
import {
  AGENTS_PARTITION,
  generationRange,
  generationRowKey,
  ledgerBlobKey,
  transcriptBlobKey,
} from './keys.ts';
import { insertFirstGeneration, refreshSession } from './refresh-session.ts';
import { LedgerWriter } from './usage-ledger.ts';
import { generationEntity, generationFromEntity } from './rows.ts';
import { VerifiedTranscript, type ContentEncoding } from './verified-transcript.ts';

export interface TranscriptUpload {
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
}

export interface IngestResult {
  readonly status: 'created' | 'already_present';
  readonly generation: Generation;
  readonly session: SessionRecord;
}

export interface IngestDeps {
  readonly storage: Storage;
  readonly now: () => Date;
  readonly maxTranscriptBytes: number;
}

/**
 * Stores one transcript upload. Order matters for "nothing lost, nothing half-written":
 * 1. the bytes, verified (hash, transcript rules) before or while they are written; on any
 *    failure no blob exists;
 * 2. the usage ledger derived from them;
 * 3. the generation row; its existence is what "already present" means;
 * 4. the derived session and agent rows, recomputed every time so a retry heals an earlier crash
 *    (a new session's first generation writes 3 and 4 in one transaction).
 * The client is answered only after all four, so a 2xx means durably stored.
 */
export async function ingestTranscript(
  deps: IngestDeps,
  upload: TranscriptUpload,
): Promise<IngestResult> {
  const { storage, maxTranscriptBytes } = deps;
  const agentId = validateId('agent id', upload.agentId);
  const sessionId = validateId('session id', upload.sessionId);
  const sha256 = validateSha256(upload.sha256);
  const kind = validateKind(upload.kind);
  const fileName = validateFileName(upload.fileName);
  if (upload.contentLength !== undefined && upload.contentLength > maxTranscriptBytes) {
    throw new PayloadTooLargeError(
      `The body is ${upload.contentLength} bytes; this server accepts transcripts up to ${maxTranscriptBytes} bytes (NEXUS_MAX_TRANSCRIPT_BYTES).`,
    );
  }

  const ledger = new LedgerWriter();
  let summary: TranscriptSummary;
  let usage: UsageBucket[];
  let inlineLedger: string | undefined;
  let known: Page<StoredEntity>;
  try {
    const verified = new VerifiedTranscript({
      sessionId,
      sha256,
      encoding: upload.encoding,
      maxBytes: maxTranscriptBytes,
      ledger,
    });
    // A small body is checked whole before anything is written; a larger one while it streams
    // into the blob store, which then stores nothing if a check throws. Content stored before
    // is read and checked again (the create-only put answers "exists").
    const { body } = upload;
    const whole = body instanceof Uint8Array ? verified.readWhole(body) : undefined;
    const source: ByteSource | Uint8Array =
      whole ?? verified.read(body instanceof Uint8Array ? [body] : body);
    // Beside the put, the session's first generation row: is this the session's first? On Azure
    // that is one round trip fewer per upload than asking before (bench B1a).
    [known] = await Promise.all([
      storage.tables.query('generations', agentId, { ...generationRange(sessionId), limit: 1 }),
      storage.blobs.putIfAbsent(transcriptBlobKey(agentId, sessionId, sha256), source, {
        contentType: 'application/x-ndjson',
      }),
    ]);
    ({ summary } = verified.result());
    usage = ledger.usage();
    inlineLedger = ledger.inline();
    if (inlineLedger === undefined) {
      await storage.blobs.putIfAbsent(
        ledgerBlobKey(agentId, sessionId, sha256),
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
    agentId,
    sessionId,
    sha256,
    kind,
    fileName,
    receivedAt: deps.now().toISOString(),
    summary,
    context: upload.context,
  };
  // A session without any generation yet gets its three rows in one transaction. Otherwise
  // (including a generation a crash left without its session), or when a concurrent upload got
  // there first (then the transaction wrote nothing), the general path recomputes the session
  // from all of its generations.
  const recordGeneration = async () => {
    const first =
      known.items.length === 0
        ? await insertFirstGeneration(storage, generation, inlineLedger, usage)
        : undefined;
    if (first) return { created: true, stored: generation, session: first };
    const created = await insertGeneration(storage, generation, inlineLedger);
    const stored = created ? generation : await readGeneration(storage, agentId, sessionId, sha256);
    const session = await refreshSession(storage, agentId, sessionId, { sha256, usage });
    return { created, stored, session };
  };
  // The agent row is independent of the others: written side by side (on the embedded store in
  // the same commit, on Azure in the same round trip time).
  const [{ created, stored, session }] = await Promise.all([
    recordGeneration(),
    storage.tables.upsert('agents', {
      partitionKey: AGENTS_PARTITION,
      rowKey: agentId,
      properties: { lastReceivedAt: generation.receivedAt },
    }),
  ]);
  return { status: created ? 'created' : 'already_present', generation: stored, session };
}

/** The generation row, create-only: `false` when it exists (the same bytes were stored before). */
async function insertGeneration(
  storage: Storage,
  generation: Generation,
  inlineLedger: string | undefined,
): Promise<boolean> {
  try {
    await storage.tables.insert('generations', generationEntity(generation, inlineLedger));
    return true;
  } catch (error) {
    if (error instanceof AlreadyExistsError) return false;
    throw error;
  }
}

async function readGeneration(
  storage: Storage,
  agentId: string,
  sessionId: string,
  sha256: string,
): Promise<Generation> {
  const existing = await storage.tables.get(
    'generations',
    agentId,
    generationRowKey(sessionId, sha256),
  );
  if (!existing) throw new NotFoundError('The generation vanished while it was being read; retry.');
  return generationFromEntity(existing);
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
