import {
  ForbiddenError,
  PreconditionFailedError,
  UnauthorizedError,
  type Storage,
} from '@nexus/core';
import { enrolmentIdOf, hashSecret, mintEnrolmentCode, sameHash } from './key-format.ts';
import type { KeyRecord, KeyStore } from './key-store.ts';

/**
 * One-time enrolment codes (`enrolments`, PK `enrol`, RK code id): an admin makes one for a host
 * (`nexus keys enrol --host laptop`), the new host redeems it once for a worker key of that host
 * (`nexus-worker enrol --code ...`). Only the code's SHA-256 is stored; redeeming is a conditional
 * update, so two hosts racing with one code get one key between them.
 */
export const ENROLMENTS_PARTITION = 'enrol';
export const DEFAULT_ENROLMENT_TTL_MS = 24 * 3600_000;

export interface Enrolment {
  readonly code: string;
  readonly hostId: string;
  readonly expiresAt: string;
}

export async function createEnrolment(
  storage: Storage,
  hostId: string,
  now: Date,
  ttlMs = DEFAULT_ENROLMENT_TTL_MS,
): Promise<Enrolment> {
  const minted = mintEnrolmentCode();
  const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
  await storage.tables.insert('enrolments', {
    partitionKey: ENROLMENTS_PARTITION,
    rowKey: minted.id,
    properties: { hash: minted.hash, hostId, createdAt: now.toISOString(), expiresAt },
  });
  return { code: minted.secret, hostId, expiresAt };
}

/** Trades a code for a new worker key of the code's host; a code works once, until it expires. */
export async function redeemEnrolment(
  storage: Storage,
  keys: KeyStore,
  code: string,
  now: Date,
): Promise<{ key: string; record: KeyRecord }> {
  const id = enrolmentIdOf(code);
  const row =
    id === undefined ? undefined : await storage.tables.get('enrolments', ENROLMENTS_PARTITION, id);
  const hash = row?.properties['hash'];
  if (!row || typeof hash !== 'string' || !sameHash(hash, hashSecret(code)))
    throw new UnauthorizedError(
      'This enrolment code is not known; ask the admin for a new one ("nexus keys enrol --host <host>").',
    );
  const p = row.properties;
  if (typeof p['usedAt'] === 'string')
    throw new ForbiddenError(
      'enrolment_code_used',
      `This enrolment code was used at ${p['usedAt']}; a code works once. Ask the admin for a new one.`,
    );
  if (String(p['expiresAt']) <= now.toISOString())
    throw new ForbiddenError(
      'enrolment_code_expired',
      `This enrolment code expired at ${String(p['expiresAt'])}; ask the admin for a new one.`,
    );
  const hostId = String(p['hostId']);
  try {
    // Spend the code first: a crash after this leaves a spent code and no key (ask again), never
    // two keys from one code.
    await storage.tables.update(
      'enrolments',
      { ...row, properties: { ...p, usedAt: now.toISOString() } },
      row.etag,
    );
  } catch (error) {
    if (error instanceof PreconditionFailedError)
      throw new ForbiddenError(
        'enrolment_code_used',
        'This enrolment code was used just now by another request; a code works once.',
      );
    throw error;
  }
  return keys.create({ role: 'worker', hostId, label: `enrolled ${now.toISOString()}` });
}
