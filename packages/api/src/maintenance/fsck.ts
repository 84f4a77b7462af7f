import { createHash } from 'node:crypto';
import {
  coerceError,
  queryAll,
  scopeOfKey,
  validateId,
  validateSha256,
  type AgentScope,
  type Storage,
} from '@nexus/core';
import { AgentDirectory } from '../transcripts/agent-directory.ts';
import { ingestTranscript } from '../transcripts/ingest-transcript.ts';
import { AGENTS_PARTITION, generationRowKey, transcriptBlobKey } from '../transcripts/keys.ts';

/**
 * What `nexus fsck` finds:
 * - `corrupt`: a transcript blob whose bytes do not hash to the SHA-256 in its name (or are not a
 *   transcript); it cannot be repaired here: the client still has the file, or it is lost.
 * - `missing_rows`: a blob without its generation or session row (a crash after the blob was
 *   written, a damaged database): repaired from the stored bytes, which are content-addressed and
 *   self-describing.
 * - `missing_blob`: a generation row whose bytes are gone: reported, as nothing can bring them back.
 */
export interface Finding {
  readonly kind: 'corrupt' | 'missing_rows' | 'missing_blob';
  /** The transcript blob's key. */
  readonly key: string;
  readonly detail: string;
}

export interface FsckReport {
  readonly blobs: number;
  readonly bytes: number;
  readonly generationRows: number;
  readonly findings: readonly Finding[];
  /** Keys of `missing_rows` findings whose rows were rebuilt (with `repair`). */
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

const TRANSCRIPT_KEY = /^transcripts\/([^/]+)\/([^/]+)\/([0-9a-f]{64})\.jsonl$/;

/**
 * Checks every stored transcript against its hash and its rows, and every generation row against
 * its blob; with `repair`, rebuilds the rows a blob is missing by ingesting its bytes again (the
 * upload path itself, so the rows are exactly what an upload writes). What the bytes do not hold
 * is restored as: kind `live`, file name `<session>.jsonl`, received now, no context.
 */
export async function fsck(storage: Storage, options: FsckOptions): Promise<FsckReport> {
  const now = options.now ?? (() => new Date());
  const findings: Finding[] = [];
  const repaired: string[] = [];
  const seen = new Set<string>();
  const agents = new Set<string>();
  let blobs = 0;
  let bytes = 0;
  const directory = new AgentDirectory(storage);

  for await (const info of storage.blobs.list('transcripts/')) {
    const match = TRANSCRIPT_KEY.exec(info.key);
    if (!match) {
      // Nothing the API writes: reported, never skipped in silence.
      findings.push({
        kind: 'corrupt',
        key: info.key,
        detail:
          'not a transcript the API stores (transcripts/<host>~<agent>/<session>/<sha256>.jsonl); remove it or move it out of the data',
      });
      continue;
    }
    const [, partition = '', sessionId = '', sha256 = ''] = match;
    const scope = scopeOfKey(partition);
    if (!scope) {
      findings.push({
        kind: 'corrupt',
        key: info.key,
        detail:
          'stored before hosts existed and not moved to a host; start the API once (it moves such data to NEXUS_DEFAULT_HOST), then run fsck again',
      });
      continue;
    }
    blobs += 1;
    bytes += info.size;
    seen.add(info.key);
    agents.add(partition);
    const actual = await hashOf(storage, info.key);
    if (actual !== sha256) {
      findings.push({
        kind: 'corrupt',
        key: info.key,
        detail: `its bytes hash to ${actual}, not to the SHA-256 in its name; upload the file again if the OpenClaw host still has it`,
      });
      options.onProgress?.({ blobs, bytes });
      continue;
    }
    const generation = await storage.tables.get(
      'generations',
      partition,
      generationRowKey(sessionId, sha256),
    );
    const session = await storage.tables.get('sessions', partition, sessionId);
    if (generation === undefined || session === undefined) {
      const missing = [
        ...(generation === undefined ? ['generation row'] : []),
        ...(session === undefined ? ['session row'] : []),
      ].join(' and ');
      findings.push({ kind: 'missing_rows', key: info.key, detail: `no ${missing}` });
      if (options.repair) {
        try {
          await rebuild(storage, directory, options.spoolDir, now, {
            scope,
            sessionId,
            sha256,
            size: info.size,
          });
          repaired.push(info.key);
        } catch (error) {
          findings.push({
            kind: 'corrupt',
            key: info.key,
            detail: `its rows could not be rebuilt: ${coerceError(error).message}`,
          });
        }
      }
    }
    options.onProgress?.({ blobs, bytes });
  }

  let generationRows = 0;
  for (const partition of await listScopeKeys(storage, agents)) {
    const scope = scopeOfKey(partition);
    if (!scope) continue;
    for await (const row of queryAll(storage.tables, 'generations', partition)) {
      generationRows += 1;
      const [sessionId = '', sha256 = ''] = row.rowKey.split('|');
      const key = transcriptBlobKey(scope, sessionId, sha256);
      if (seen.has(key)) continue;
      findings.push({
        kind: 'missing_blob',
        key,
        detail: `generation row ${partition}/${row.rowKey} has no stored bytes; they cannot be rebuilt, upload the file again if the OpenClaw host still has it`,
      });
    }
  }
  return { blobs, bytes, generationRows, findings, repaired };
}

async function hashOf(storage: Storage, key: string): Promise<string> {
  const hash = createHash('sha256');
  const { body } = await storage.blobs.get(key);
  for await (const chunk of body) hash.update(chunk);
  return hash.digest('hex');
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
