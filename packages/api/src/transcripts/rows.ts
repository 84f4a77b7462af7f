import {
  scopeKey,
  scopeOfPartition,
  type Entity,
  type Generation,
  type SessionContext,
  type SessionRecord,
  type StoredEntity,
  type TranscriptKind,
  type TranscriptSummary,
} from '@nexus/core';
import { generationRowKey } from './keys.ts';
import { packJson, unpackJson } from './json-properties.ts';

/**
 * Generation ↔ table row. The summary and context are JSON; the rest are plain columns. A small
 * usage ledger (`inlineLedger`, at most `INLINE_LEDGER_BYTES`) rides in the row instead of a blob.
 */
export function generationEntity(generation: Generation, inlineLedger?: string): Entity {
  return {
    partitionKey: scopeKey(generation),
    rowKey: generationRowKey(generation.sessionId, generation.sha256),
    properties: {
      sessionId: generation.sessionId,
      sha256: generation.sha256,
      kind: generation.kind,
      fileName: generation.fileName,
      receivedAt: generation.receivedAt,
      bytes: generation.summary.bytes,
      ...packJson('summary', generation.summary),
      ...packJson('context', generation.context ?? {}),
      ...(inlineLedger === undefined ? {} : { ledger: inlineLedger }),
    },
  };
}

/** The ledger kept in a generation's row, or `undefined` when it is a blob. */
export function inlineLedgerOf(entity: StoredEntity): string | undefined {
  const ledger = entity.properties['ledger'];
  return typeof ledger === 'string' ? ledger : undefined;
}

export function generationFromEntity(entity: StoredEntity): Generation {
  const p = entity.properties;
  return {
    ...scopeOfPartition(entity.partitionKey),
    sessionId: String(p['sessionId']),
    sha256: String(p['sha256']),
    kind: String(p['kind']) as TranscriptKind,
    fileName: String(p['fileName']),
    receivedAt: String(p['receivedAt']),
    summary: unpackJson(p, 'summary') as TranscriptSummary,
    context: unpackJson(p, 'context') as SessionContext,
  };
}

export function sessionEntity(record: SessionRecord, indexKey: string): Entity {
  return {
    partitionKey: scopeKey(record),
    rowKey: record.sessionId,
    properties: { indexKey, activityAt: record.activityAt, ...packJson('record', record) },
  };
}

export function sessionFromEntity(entity: StoredEntity): SessionRecord {
  // Records written before hosts existed carry no host: the partition (moved at upgrade) does.
  return {
    ...(unpackJson(entity.properties, 'record') as SessionRecord),
    ...scopeOfPartition(entity.partitionKey),
  };
}
