import { z } from 'zod';

export const sessionUploadConfigSchema = z
  .object({
    /**
     * `keep` leaves files where OpenClaw reads them (its history fallback and usage dashboard read
     * `.reset` archives) and remembers uploads in a ledger; `move` moves each uploaded file away.
     */
    mode: z.enum(['keep', 'move'], { message: 'must be "keep" or "move"' }).default('keep'),
    archiveDir: z.string().min(1).optional(),
    quietMinutes: z
      .number()
      .min(0)
      .max(24 * 60)
      .default(15),
    concurrency: z.number().int().min(1).max(32).default(4),
    snapshots: z.boolean().default(false),
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
