import { z } from 'zod';

const wakeMode = z.enum(['now', 'next-heartbeat'], {
  message: 'must be "now" or "next-heartbeat"',
});

export const webhookDeliveryConfigSchema = z
  .object({
    /** The agents whose webhooks this host delivers; default: every agent OpenClaw has here. */
    agents: z.array(z.string().min(1)).min(1).max(50).optional(),
    /** Overrides for what openclaw.json says about the gateway. */
    gateway: z
      .object({
        url: z
          .url({ message: 'must be the gateway URL, e.g. "http://127.0.0.1:18789"' })
          .optional(),
        hooksPath: z
          .string()
          .regex(/^\/[A-Za-z0-9/_-]*$/, 'must be a path such as "/hooks"')
          .optional(),
        token: z.string().min(1).optional(),
        tokenFile: z.string().min(1).optional(),
        maxBodyBytes: z.number().int().min(4096).optional(),
      })
      .strict()
      .default({}),
    /** Passed to `/hooks/agent` as they are. */
    agentOptions: z
      .object({
        wakeMode: wakeMode.optional(),
        deliver: z.boolean().optional(),
        channel: z.string().min(1).optional(),
        to: z.string().min(1).optional(),
        model: z.string().min(1).optional(),
        thinking: z.string().min(1).optional(),
        timeoutSeconds: z.number().int().positive().optional(),
      })
      .strict()
      .default({}),
    wakeMode: wakeMode.default('now'),
    /**
     * How long the API holds a claim open while nothing is due, answering the moment a webhook
     * arrives (a long poll): the delivery latency when all is quiet is then the API's, not a
     * poll interval. 0 turns it off (plain polling every `pollSeconds`).
     */
    waitSeconds: z.number().min(0).max(25).default(25),
    /** The pause after an empty answer that was not held (waiting off, or an API that does not). */
    pollSeconds: z.number().min(0.2).max(300).default(2),
    batchSize: z.number().int().min(1).max(100).default(20),
    /**
     * Webhooks sent to the gateway at once. Those of one endpoint (one sender, one conversation)
     * go one after another, in the order received; different endpoints' go side by side.
     */
    concurrency: z.number().int().min(1).max(16).default(4),
    /** How long a claimed webhook is ours; after that (a crash) the API hands it out again. */
    leaseSeconds: z.number().int().min(10).max(900).default(60),
    maxMessageChars: z.number().int().min(1000).max(1_000_000).default(20_000),
    requestTimeoutSeconds: z.number().min(1).max(300).default(30),
  })
  .strict();

export type WebhookDeliveryConfig = z.infer<typeof webhookDeliveryConfigSchema>;
