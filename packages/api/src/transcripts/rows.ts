import {
  GENERATION_ORIGINS,
  scopeKey,
  scopeOfPartition,
  type Entity,
  type Generation,
  type GenerationOrigin,
  type SessionContext,
  type SessionRecord,
  type StoredEntity,
  type TranscriptKind,
  type TranscriptSummary,
} from '@nexus/core';
import type { GenerationLayout, LaidOutGeneration } from './generation-layout.ts';
import { generationRowKey } from './keys.ts';
import { packJson, unpackJson } from './json-properties.ts';

/** How a generation's bytes are kept, beside what it is (`Generation`). */
export interface GenerationStorage {
  readonly layout: GenerationLayout;
  /** `ResumableSha256` state after its last byte: an increment of it resumes from here. */
  readonly hashState?: string;
  /** Its last byte is a newline (an increment may only follow a whole line). */
  readonly lineEnd?: boolean;
  /**
   * How many blobs reading it takes (`segmentsOf`), kept so an increment knows without reading
   * every row of its session whether its chain is due for consolidation. Absent on older rows.
   */
  readonly segments?: number;
}

/** A generation's row read back: what it is, how it is kept, its small ledger, its ETag. */
export interface GenerationRow extends GenerationStorage, LaidOutGeneration {
  readonly generation: Generation;
  readonly inlineLedger: string | undefined;
  readonly etag: string;
}

export const WHOLE: GenerationStorage = { layout: { kind: 'whole' } };

/**
 * Generation ↔ table row. The summary and context are JSON; the rest are plain columns. A small
 * usage ledger (`inlineLedger`, at most `INLINE_LEDGER_BYTES`) rides in the row instead of a blob.
 * Rows written before increments existed have no layout: whole.
 */
export function generationEntity(
  generation: Generation,
  inlineLedger?: string,
  storage: GenerationStorage = WHOLE,
): Entity {
  const { layout } = storage;
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
      ...(generation.extends === undefined ? {} : { extends: generation.extends }),
      ...(generation.storedBytes === undefined ? {} : { storedBytes: generation.storedBytes }),
      ...(generation.origin === undefined ? {} : { origin: generation.origin }),
      ...(generation.archivedAs === undefined ? {} : packJson('archivedAs', generation.archivedAs)),
      ...(layout.kind === 'whole'
        ? {}
        : { layout: layout.kind, layoutOf: layout.kind === 'delta' ? layout.base : layout.of }),
      ...(storage.hashState === undefined ? {} : { hashState: storage.hashState }),
      ...(storage.lineEnd === undefined ? {} : { lineEnd: storage.lineEnd }),
      ...(storage.segments === undefined ? {} : { segments: storage.segments }),
    },
  };
}

/**
 * The same row with its storage described anew (a consolidation), keeping everything else: it is
 * whole, or lies within a whole blob; either way one blob reads it.
 */
export function relaidEntity(row: GenerationRow, layout: GenerationLayout): Entity {
  return generationEntity(row.generation, row.inlineLedger, { ...row, layout, segments: 1 });
}

export function generationRowFromEntity(entity: StoredEntity): GenerationRow {
  const p = entity.properties;
  const generation = generationFromEntity(entity);
  const of = String(p['layoutOf'] ?? '');
  const layout: GenerationLayout =
    p['layout'] === 'delta'
      ? { kind: 'delta', base: of }
      : p['layout'] === 'within'
        ? { kind: 'within', of }
        : { kind: 'whole' };
  return {
    generation,
    sha256: generation.sha256,
    bytes: generation.summary.bytes,
    layout,
    inlineLedger: inlineLedgerOf(entity),
    etag: entity.etag,
    ...(typeof p['hashState'] === 'string' ? { hashState: p['hashState'] } : {}),
    ...(typeof p['lineEnd'] === 'boolean' ? { lineEnd: p['lineEnd'] } : {}),
    ...(typeof p['segments'] === 'number' ? { segments: p['segments'] } : {}),
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
    ...(typeof p['extends'] === 'string' ? { extends: p['extends'] } : {}),
    ...(typeof p['storedBytes'] === 'number' ? { storedBytes: p['storedBytes'] } : {}),
    ...(isOrigin(p['origin']) ? { origin: p['origin'] } : {}),
    ...(typeof p['archivedAs'] === 'string'
      ? { archivedAs: unpackJson(p, 'archivedAs') as NonNullable<Generation['archivedAs']> }
      : {}),
  };
}

function isOrigin(value: unknown): value is GenerationOrigin {
  return (GENERATION_ORIGINS as readonly unknown[]).includes(value);
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
