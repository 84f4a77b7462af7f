/**
 * What a worker reports about a webhook it claimed (`POST /v1/webhooks/settle`); the API's queue
 * and the worker's client share this shape. `delivered`: the gateway answered 2xx. `failed`
 * counts as an attempt (retried after a backoff, dead after the last); `released` does not (the
 * gateway was down or busy). `status` is the gateway's HTTP status, 0 when it was not reached.
 */
export type WebhookSettlement =
  | {
      readonly agentId: string;
      readonly id: string;
      readonly leaseId: string;
      readonly outcome: 'delivered';
      readonly status?: number | undefined;
    }
  | {
      readonly agentId: string;
      readonly id: string;
      readonly leaseId: string;
      readonly outcome: 'failed' | 'released';
      readonly reason: string;
      readonly status?: number | undefined;
      readonly retryAfterSeconds?: number | undefined;
    };
