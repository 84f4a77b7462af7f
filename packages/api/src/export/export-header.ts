import { ValidationError, type Generation, type SessionRecord } from '@nexus/core';
import type { SecretMasker } from '../content/secret-mask.ts';

export type ExportFormat = 'markdown' | 'json' | 'html';

export interface ExportOptions {
  /** Thinking blocks included (off by default). */
  readonly thinking: boolean;
  /** Each assistant message's model, tokens and cost (on by default). */
  readonly details: boolean;
}

/** What an export says about the session above its messages. */
export interface ExportHeader {
  readonly hostId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly title: string | null;
  readonly generation: {
    readonly sha256: string;
    readonly kind: string;
    readonly receivedAt: string;
    readonly lines: number;
  };
  readonly models: readonly string[];
  readonly tokens: number;
  readonly costUsd: number;
  readonly exportedAt: string;
}

export function exportHeader(
  session: Omit<SessionRecord, 'usage'>,
  generation: Generation,
  masker: SecretMasker,
  now: Date,
): ExportHeader {
  return {
    hostId: session.hostId,
    agentId: session.agentId,
    sessionId: session.sessionId,
    title:
      session.title === undefined || session.title === null ? null : masker.mask(session.title),
    generation: {
      sha256: generation.sha256,
      kind: generation.kind,
      receivedAt: generation.receivedAt,
      lines: generation.summary.lines,
    },
    models: session.models,
    tokens: session.tokens.total,
    costUsd: session.costUsd,
    exportedAt: now.toISOString(),
  };
}

const FORMATS: Readonly<Record<string, ExportFormat>> = {
  markdown: 'markdown',
  md: 'markdown',
  json: 'json',
  html: 'html',
};

export function parseFormat(value: string | undefined): ExportFormat {
  const format = FORMATS[(value ?? 'markdown').toLowerCase()];
  if (format === undefined)
    throw new ValidationError(
      'invalid_format',
      `format must be markdown (or md), json or html; got ${JSON.stringify((value ?? '').slice(0, 40))}.`,
    );
  return format;
}

/** `thinking=1` / `details=0` style switches: 1/0, true/false, yes/no; absent is the default. */
export function parseSwitch(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ValidationError(
    'invalid_query',
    `${name} must be 1 or 0 (true/false, yes/no); got ${JSON.stringify(value.slice(0, 40))}.`,
  );
}
