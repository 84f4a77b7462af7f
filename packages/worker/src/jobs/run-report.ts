import { MAX_REPORTED_ERRORS, type RunReport } from '@nexus/core';
import type { JobResult } from './job.ts';

/** What the API is told about a finished run: its figures and at most the first 20 errors. Pure. */
export function runReportOf(
  job: { readonly id: string; readonly type: string },
  result: JobResult,
  finishedAt: Date,
): RunReport {
  return {
    jobId: job.id,
    type: job.type,
    startedAt: new Date(finishedAt.getTime() - result.durationMs).toISOString(),
    finishedAt: finishedAt.toISOString(),
    success: result.success,
    message: clip(result.message, 1000),
    counts: result.counts,
    errors: result.errors
      .slice(0, MAX_REPORTED_ERRORS)
      .map((error) => ({ item: clip(error.item, 500), message: clip(error.message, 1000) })),
    errorCount: result.errors.length,
  };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
