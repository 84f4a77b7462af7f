/**
 * The HTTP contract between the Nexus API and its clients (the worker, the `nexus` CLI), declared
 * once: the API's routes are typed against these shapes, and the clients read them.
 */

/** Every error answer's body (`4xx`, `5xx`). */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** The error in an answer's body, if it is one (clients parse bodies they did not make). */
export function errorOf(body: unknown): ErrorBody['error'] | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const { error } = body;
  if (typeof error !== 'object' || error === null) return undefined;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  const message =
    'message' in error && typeof error.message === 'string' ? error.message : undefined;
  return code === undefined || message === undefined ? undefined : { code, message };
}

/** What the gateway is asked to do with an endpoint's webhooks. */
export interface DeliveryAction {
  readonly action: 'wake' | 'agent' | 'mapping';
  readonly mapping?: string;
  readonly template?: string;
}

/**
 * `paused`: kept while its endpoint is paused, delivered on resume; `filtered`: its event type is
 * not one the endpoint accepts (answered 2xx to the sender, never delivered, kept like a delivered
 * item).
 */
export type WebhookState = 'pending' | 'leased' | 'delivered' | 'dead' | 'paused' | 'filtered';

/** A webhook as `GET /v1/webhooks` lists it: everything but its body and headers. */
export interface WebhookView {
  readonly id: string;
  readonly hostId: string;
  readonly agentId: string;
  readonly endpointId: string;
  readonly provider: string;
  readonly eventType: string;
  readonly dedupeKey: string;
  readonly receivedAt: string;
  readonly contentType: string;
  readonly bytes: number;
  readonly state: WebhookState;
  readonly attempts: number;
  readonly availableAt?: string | undefined;
  readonly leaseUntil?: string | undefined;
  readonly lastAttemptAt?: string | undefined;
  readonly lastError?: string | undefined;
  readonly lastStatus?: number | undefined;
  /** The first delivery's time, kept through replays. */
  readonly deliveredAt?: string | undefined;
  readonly lastDeliveredAt?: string | undefined;
  readonly deadAt?: string | undefined;
  /** How often the owner replayed it. */
  readonly replays: number;
  readonly replayedAt?: string | undefined;
  /** When it was paused (its endpoint was paused when it arrived or came due). */
  readonly pausedAt?: string | undefined;
  readonly action: DeliveryAction['action'];
}

/** One webhook of `POST /v1/webhooks/claim`'s answer: leased to the caller until `leaseUntil`. */
export interface ClaimedWebhook extends WebhookView {
  readonly leaseId: string;
  readonly leaseUntil: string;
  /** The endpoint's current action (so a fixed template applies to a replay). */
  readonly delivery: DeliveryAction;
  readonly headers: Readonly<Record<string, string>>;
  /** The exact bytes, base64, when small enough to travel inline; else fetch `bodyUrl`. */
  readonly body?: string;
  readonly bodyUrl?: string;
}

/**
 * What a worker reports about a webhook it claimed (`POST /v1/webhooks/settle`). `delivered`: the
 * gateway answered 2xx. `failed` counts as an attempt (retried after a backoff, dead after the
 * last); `released` does not (the gateway was down or busy); `rejected`: the gateway will never
 * take this item as it is (400 malformed, 404 no such hook), so it is dead at once, to be fixed
 * and replayed. `status` is the gateway's HTTP status, 0 when it was not reached.
 */
export type WebhookSettlement =
  | {
      readonly hostId: string;
      readonly agentId: string;
      readonly id: string;
      readonly leaseId: string;
      readonly outcome: 'delivered';
      readonly status?: number | undefined;
    }
  | {
      readonly hostId: string;
      readonly agentId: string;
      readonly id: string;
      readonly leaseId: string;
      readonly outcome: 'failed' | 'released';
      readonly reason: string;
      readonly status?: number | undefined;
      readonly retryAfterSeconds?: number | undefined;
    }
  | {
      readonly hostId: string;
      readonly agentId: string;
      readonly id: string;
      readonly leaseId: string;
      readonly outcome: 'rejected';
      readonly reason: string;
      readonly status?: number | undefined;
    };

/** `POST /v1/webhooks/settle`'s answer: one result per settlement, in order. */
export type SettleResult =
  | {
      readonly id: string;
      readonly ok: true;
      readonly state: WebhookState;
      readonly attempts: number;
    }
  | { readonly id: string; readonly ok: false; readonly error: ErrorBody['error'] };

/** A transcript upload's answer (`201` created, `200` already present). */
export interface UploadAnswer {
  readonly status: 'created' | 'already_present';
}

/** At most this many of a run's errors travel in its report (the count says how many there were). */
export const MAX_REPORTED_ERRORS = 20;

/**
 * What a worker reports after each run of a job (`POST /v1/hosts/{hostId}/runs`): what the host's
 * page shows as its last backup, and what tells whether the host is healthy, failing or silent.
 * Never content: counts, and per failed item its name and the reason.
 */
export interface RunReport {
  readonly jobId: string;
  readonly type: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly success: boolean;
  readonly message: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly errors: readonly { readonly item: string; readonly message: string }[];
  readonly errorCount: number;
}
