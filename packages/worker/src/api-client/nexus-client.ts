import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import {
  answerError,
  callApi,
  coerceError,
  parseJson,
  type SendRequest,
  type ClaimedWebhook,
  type SettleResult,
  type WebhookSettlement,
  type WebhookView,
  type RunReport,
} from '@nexus/core';
import { httpSend, type HttpAnswer } from './http-send.ts';
import { isRetryableStatus, retryDelayMs } from './retry-policy.ts';
import { explainRefusal } from './upload-refusal.ts';

export interface TranscriptUploadRequest {
  readonly agentId: string;
  readonly sessionId: string;
  readonly sha256: string;
  readonly kind: string;
  readonly fileName: string;
  readonly encoding: 'zstd' | 'gzip' | 'identity';
  /**
   * The body: bytes held in memory (sent with a Content-Length, the cheap path for most
   * transcripts), or a function that opens a stream afresh for each attempt.
   */
  readonly body: Uint8Array | (() => Readable);
  /** A stream's length, when known: sent as `Content-Length` (bytes always are). */
  readonly length?: number;
  readonly context?: Readonly<Record<string, string>>;
  /** The body is an increment of this stored generation (its SHA-256); `sha256` is the whole's. */
  readonly base?: string;
  /** How it came to be uploaded: a live session's `snapshot`, a `completed` one, an `archive`. */
  readonly origin?: 'snapshot' | 'completed' | 'archive';
}

/**
 * `rejected`: the API refused this content for good (remember it, try again only once it
 * changes). `refused`: the API refused the request for a reason that is not the content (key,
 * URL, its own storage): nothing to remember, every other upload would meet the same answer.
 * `failed`: no answer worth keeping after the retries (network, 5xx).
 */
export type UploadOutcome =
  | { readonly outcome: 'stored'; readonly status: 'created' | 'already_present' }
  | {
      readonly outcome: 'rejected';
      readonly httpStatus: number;
      readonly code: string;
      readonly message: string;
    }
  | {
      readonly outcome: 'refused';
      readonly httpStatus: number;
      readonly code: string;
      readonly message: string;
    }
  | {
      readonly outcome: 'failed';
      readonly message: string;
      /**
       * Whatever this file, the next upload would fail the same way (the API unreachable, its disk
       * full): the run stops. A server error on one upload lets the others go on.
       */
      readonly stopsRun: boolean;
    };

/**
 * Backoff ceilings 0.5, 1, 2, 4, 8 and 16 s, each jittered down to half at most: the seven
 * attempts span at least 15.75 s, longer than a normal restart of the API.
 */
export const UPLOAD_RETRY = { maxAttempts: 7, baseDelayMs: 500, maxDelayMs: 30_000 } as const;

export interface NexusClientOptions {
  readonly url: string;
  readonly apiKey: string;
  /** This machine's host id: in every upload's path, every claim and settlement. */
  readonly hostId: string;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly random?: () => number;
  /** Called before each retry, for logs. */
  readonly onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/**
 * The worker's side of the Nexus API. Uploads retry on network errors, 408, 429 and 5xx with
 * backoff and jitter, honouring `Retry-After`; a 4xx is final and returned with the API's reason.
 */
export class NexusClient {
  private readonly options: Required<Omit<NexusClientOptions, 'onRetry'>> &
    Pick<NexusClientOptions, 'onRetry'>;

  constructor(options: NexusClientOptions) {
    this.options = {
      ...UPLOAD_RETRY,
      random: Math.random,
      ...options,
      url: options.url.replace(/\/+$/, ''),
    };
  }

  async uploadTranscript(
    request: TranscriptUploadRequest,
    signal?: AbortSignal,
  ): Promise<UploadOutcome> {
    const query = new URLSearchParams({
      kind: request.kind,
      fileName: request.fileName,
      ...request.context,
      ...(request.base === undefined ? {} : { base: request.base }),
      ...(request.origin === undefined ? {} : { origin: request.origin }),
    });
    const url = `${this.options.url}/v1/hosts/${encodeURIComponent(this.options.hostId)}/agents/${encodeURIComponent(request.agentId)}/sessions/${encodeURIComponent(request.sessionId)}/transcripts/${request.sha256}?${query.toString()}`;
    // Only the answer's status is read (RFC 7240): the generation and session records the API
    // sends otherwise are 1.7 KB a transcript over the uplink (bench B1w).
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.apiKey}`,
      prefer: 'return=minimal',
    };
    if (request.encoding !== 'identity') headers['content-encoding'] = request.encoding;
    if (typeof request.body === 'function' && request.length !== undefined)
      headers['content-length'] = String(request.length);
    let lastReason = '';
    let lastWasNetwork = false;
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt += 1) {
      let retryAfter: string | null = null;
      try {
        const { body } = request;
        const response = await httpSend(url, {
          method: 'PUT',
          headers,
          body: typeof body === 'function' ? body() : body,
          signal,
        });
        const text = response.body.toString('utf8');
        if (isOk(response)) {
          const body = parseJson(text) as { status?: unknown } | undefined;
          return {
            outcome: 'stored',
            status: body?.status === 'already_present' ? 'already_present' : 'created',
          };
        }
        const { code, message } = answerError(response.status, text);
        if (response.status === 507) {
          // A full disk at the API is not fixed within this run's retries: stop, and say where.
          return {
            outcome: 'failed',
            message: `the API's storage is full (HTTP 507): ${message}; the next run tries again`,
            stopsRun: true,
          };
        }
        if (!isRetryableStatus(response.status)) {
          const refusal = explainRefusal(response.status, code, message, this.options.url);
          return refusal === undefined
            ? { outcome: 'rejected', httpStatus: response.status, code, message }
            : { outcome: 'refused', httpStatus: response.status, code, message: refusal };
        }
        lastReason = `HTTP ${response.status}: ${message}`;
        lastWasNetwork = false;
        retryAfter = headerOf(response, 'retry-after') ?? null;
      } catch (caught) {
        if (signal?.aborted)
          return {
            outcome: 'failed',
            message: 'stopped: the worker is shutting down',
            stopsRun: true,
          };
        lastReason = describeNetworkError(caught);
        lastWasNetwork = true;
      }
      if (attempt === this.options.maxAttempts) break;
      const delayMs = retryDelayMs(attempt, {
        baseMs: this.options.baseDelayMs,
        maxMs: this.options.maxDelayMs,
        retryAfter,
        random: this.options.random,
        nowMs: Date.now(),
      });
      this.options.onRetry?.({ attempt, delayMs, reason: lastReason });
      try {
        await delay(delayMs, undefined, signal ? { signal } : {});
      } catch {
        return {
          outcome: 'failed',
          message: 'stopped: the worker is shutting down',
          stopsRun: true,
        };
      }
    }
    return {
      outcome: 'failed',
      message: `gave up after ${this.options.maxAttempts} attempts: ${lastReason}`,
      stopsRun: lastWasNetwork,
    };
  }

  /**
   * Leases up to `max` due webhooks of these agents (`POST /v1/webhooks/claim`); with nothing due,
   * the API holds the request up to `waitSeconds` and answers as soon as something is.
   */
  async claimWebhooks(
    agents: readonly string[],
    max: number,
    leaseSeconds: number,
    signal?: AbortSignal,
    waitSeconds = 0,
  ): Promise<ClaimedWebhook[]> {
    const answer = (await this.call(
      'POST',
      '/v1/webhooks/claim',
      {
        hostId: this.options.hostId,
        agents,
        max,
        leaseSeconds,
        ...(waitSeconds > 0 ? { waitSeconds } : {}),
      },
      signal,
    )) as {
      items: ClaimedWebhook[];
    };
    return answer.items;
  }

  /** Reports what happened to claimed webhooks; per-item errors (e.g. `lease_lost`) come back inline. */
  async settleWebhooks(results: readonly WebhookSettlement[]): Promise<SettleResult[]> {
    const answer = (await this.call('POST', '/v1/webhooks/settle', { results })) as {
      results: SettleResult[];
    };
    return answer.results;
  }

  /** The exact bytes of a webhook too large to travel inside the claim answer. */
  async webhookBody(bodyUrl: string, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await httpSend(`${this.options.url}${bodyUrl}`, {
      method: 'GET',
      headers: { authorization: `Bearer ${this.options.apiKey}` },
      signal,
    });
    if (!isOk(response)) throw new Error(`GET ${bodyUrl} answered ${response.status}`);
    return new Uint8Array(response.body);
  }

  /** Pending webhooks of one agent, for dry runs (`GET /v1/webhooks`). */
  async listWebhooks(agentId: string, state: string): Promise<WebhookView[]> {
    const query = new URLSearchParams({
      hostId: this.options.hostId,
      agentId,
      state,
      limit: '200',
    });
    const answer = (await this.call('GET', `/v1/webhooks?${query.toString()}`)) as {
      items: WebhookView[];
    };
    return answer.items;
  }

  /** One JSON request (`callApi`); throws with the API's own message on any non-2xx. */
  private call(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<unknown> {
    return callApi(
      sendOverHttp,
      { baseUrl: this.options.url, apiKey: this.options.apiKey },
      method,
      path,
      { body, ...(signal === undefined ? {} : { signal }) },
    );
  }

  /**
   * Tells the API this host is here, its display name and worker version (`PUT /v1/hosts/{host}`),
   * once at start: what `GET /v1/hosts` shows.
   */
  async announceHost(name: string, workerVersion: string): Promise<void> {
    await this.call('PUT', `/v1/hosts/${encodeURIComponent(this.options.hostId)}`, {
      name,
      workerVersion,
    });
  }

  /** Tells the API how a run went (`POST /v1/hosts/{host}/runs`): the host's status shows it. */
  async reportRun(report: RunReport, signal?: AbortSignal): Promise<void> {
    await this.call(
      'POST',
      `/v1/hosts/${encodeURIComponent(this.options.hostId)}/runs`,
      report,
      signal,
    );
  }

  /** `GET /v1/health`: used by `init` and at start-up to say clearly when the API is unreachable. */
  async health(): Promise<{ ok: boolean; detail: string }> {
    try {
      const response = await httpSend(`${this.options.url}/v1/health`, {
        method: 'GET',
        headers: {},
      });
      return { ok: isOk(response), detail: `HTTP ${response.status}` };
    } catch (caught) {
      return { ok: false, detail: describeNetworkError(caught) };
    }
  }
}

/** `callApi`'s sender over Node's own HTTP client (`http-send.ts`). */
export const sendOverHttp: SendRequest = async (url, init) => {
  const answer = await httpSend(url, {
    method: init.method,
    headers: init.headers,
    body: init.body,
    signal: init.signal,
  });
  return { status: answer.status, text: answer.body.toString('utf8') };
};

function isOk(response: HttpAnswer): boolean {
  return response.status >= 200 && response.status < 300;
}

function headerOf(response: HttpAnswer, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function describeNetworkError(caught: unknown): string {
  const error = coerceError(caught);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/** What jobs use of the API client: a structural type, so tests can pass a stand-in. */
export type NexusApi = Pick<
  NexusClient,
  | 'uploadTranscript'
  | 'claimWebhooks'
  | 'settleWebhooks'
  | 'webhookBody'
  | 'listWebhooks'
  | 'health'
  | 'announceHost'
  | 'reportRun'
>;
