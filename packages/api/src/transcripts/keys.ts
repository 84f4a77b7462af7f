/**
 * Where a transcript's pieces live. Every id in here has passed `validateId`, so keys are safe as
 * blob paths and table keys. Layout (docs/ARCHITECTURE.md, "Storage layout"):
 *
 *   blob  transcripts/<scope>/<session>/<sha256>.jsonl   the exact bytes (a whole generation)
 *   blob  deltas/<scope>/<session>/<sha256>.jsonl        the bytes an increment added to its base
 *   blob  ledgers/<scope>/<session>/<sha256>.jsonl       usage per assistant entry, for de-duplication
 *   row   generations     PK scope, RK <session>|<sha256>
 *   row   sessions        PK scope, RK <session>
 *   row   sessionsByTime  PK scope, RK <inverted activity ms>|<session>   newest first
 *   row   agents          PK "agent", RK <scope>                         the list of agents
 *   row   agentActivity   PK scope, RK "last"                            last upload time
 *
 * where `<scope>` is `<host>~<agent>` (`scopeKey`): one agent of one host.
 *
 * (On Azure all tables share one, each row key prefixed with its table's name: `AzureTableStore`.)
 */
import { scopeKey, type AgentScope } from '@nexus/core';

export const AGENTS_PARTITION = 'agent';
/** The row key of an agent's `agentActivity` row (in the agent's own partition). */
export const ACTIVITY_ROW = 'last';

export function transcriptBlobKey(scope: AgentScope, sessionId: string, sha256: string): string {
  return `transcripts/${scopeKey(scope)}/${sessionId}/${sha256}.jsonl`;
}

export function deltaBlobKey(scope: AgentScope, sessionId: string, sha256: string): string {
  return `deltas/${scopeKey(scope)}/${sessionId}/${sha256}.jsonl`;
}

export function ledgerBlobKey(scope: AgentScope, sessionId: string, sha256: string): string {
  return `ledgers/${scopeKey(scope)}/${sessionId}/${sha256}.jsonl`;
}

export function generationRowKey(sessionId: string, sha256: string): string {
  return `${sessionId}|${sha256}`;
}

/** Row-key range holding every generation of one session (`|` sorts below `}`). */
export function generationRange(sessionId: string): { rowKeyFrom: string; rowKeyTo: string } {
  return { rowKeyFrom: `${sessionId}|`, rowKeyTo: `${sessionId}}` };
}

/** Larger than any millisecond time until the year 2286, so inverted times stay positive. */
const TIME_CEILING = 9_999_999_999_999;

function invertedTime(ms: number): string {
  return String(TIME_CEILING - Math.max(0, Math.min(ms, TIME_CEILING))).padStart(13, '0');
}

export function activityRowKey(activityAt: string, sessionId: string): string {
  return `${invertedTime(Date.parse(activityAt))}|${sessionId}`;
}

/**
 * Row-key bounds for sessions active in `[fromMs, toMs)`. Newer sessions have smaller keys, so
 * `toMs` sets the lower bound and `fromMs` the upper one.
 */
export function activityRange(
  fromMs?: number,
  toMs?: number,
): { rowKeyFrom?: string; rowKeyTo?: string } {
  return {
    ...(toMs === undefined ? {} : { rowKeyFrom: invertedTime(toMs - 1) }),
    ...(fromMs === undefined ? {} : { rowKeyTo: `${invertedTime(fromMs)}}` }),
  };
}
