import { z } from 'zod';

export const sessionUploadConfigSchema = z
  .object({
    /**
     * `keep` leaves files where OpenClaw reads them (its history fallback and usage dashboard read
     * `.reset` archives) and remembers uploads in a ledger; `move` moves each uploaded file away.
     */
    mode: z.enum(['keep', 'move'], { message: 'must be "keep" or "move"' }).default('keep'),
    archiveDir: z.string().min(1).optional(),
    /**
     * A live transcript is uploaded once it has not changed for this long: between turns, never
     * in the middle of one (a running session or a held lock is never uploaded either).
     */
    quietMinutes: z
      .number()
      .min(0)
      .max(24 * 60)
      .default(5),
    /** Uploads in flight; default 4 to an API on this machine, 8 to a remote one (`uploadConcurrency`). */
    concurrency: z.number().int().min(1).max(32).optional(),
    /**
     * Back up live sessions too (continuous backup), not only those OpenClaw completed: today's
     * OpenClaw rarely completes one (`/new` and `/reset` keep the session id, the default reset
     * mode is `none`). Each snapshot after the first is sent and stored as an increment.
     */
    snapshots: z.boolean().default(true),
    /**
     * In transit. `auto`: zstd to a remote API, none to one on this machine (loopback), where
     * compressing only costs CPU on both ends (bench B1: 0.56-0.58× of the baseline with zstd,
     * 0.67-0.72× without).
     */
    compression: z
      .enum(['auto', 'zstd', 'gzip', 'none'], {
        message: 'must be "auto", "zstd", "gzip" or "none"',
      })
      .default('auto'),
    /** Where transcripts come from: the sessions folder's files, and OpenClaw 2026.8+'s agent database. */
    sources: z
      .array(z.enum(['files', 'database'], { message: 'must be "files" or "database"' }))
      .min(1)
      .default(['files', 'database']),
    /** Read an agent database whose schema version this worker has not been tested with. */
    allowUnknownSchema: z.boolean().default(false),
  })
  .strict();

export type SessionUploadConfig = z.infer<typeof sessionUploadConfigSchema>;
