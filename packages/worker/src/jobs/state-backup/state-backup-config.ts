import { z } from 'zod';

export const stateBackupConfigSchema = z
  .object({
    /** The OpenClaw CLI to run `backup create` with: a name on PATH or a path. */
    openclawCommand: z.string().min(1).default('openclaw'),
    /** Workspaces can be large; `false` passes `--no-include-workspace`. */
    includeWorkspace: z.boolean().default(true),
    keepDaily: z.number().int().min(1).max(366).default(7),
    keepWeekly: z.number().int().min(0).max(520).default(4),
    keepMonthly: z.number().int().min(0).max(240).default(6),
    /** How long `openclaw backup create --verify` may take. */
    timeoutMinutes: z
      .number()
      .min(1)
      .max(24 * 60)
      .default(60),
  })
  .strict();

export type StateBackupConfig = z.infer<typeof stateBackupConfigSchema>;
