import { errorOf } from '@nexus/core';
import type { Principal } from '../auth/principal.ts';
import type { NexusApp } from '../http/app-env.ts';

/**
 * How the dashboard calls the JSON API on behalf of the logged-in key: through the app itself,
 * with the principal in the request's environment under a symbol, which only code in this process
 * can set (the Node server and the Functions adapter pass plain objects). So every action the
 * dashboard offers is the API's own route, with its validation, authorization and messages.
 */
const INTERNAL_PRINCIPAL = Symbol('nexus.dashboardPrincipal');

export function internalPrincipalOf(env: unknown): Principal | undefined {
  if (typeof env !== 'object' || env === null) return undefined;
  return (env as { [INTERNAL_PRINCIPAL]?: Principal })[INTERNAL_PRINCIPAL];
}

/** An answer of the API: its status, and its JSON (or its error's message). */
export interface ApiAnswer<T> {
  readonly ok: boolean;
  readonly status: number;
  readonly body: T;
  readonly error?: { readonly code: string; readonly message: string };
}

export class InternalApi {
  private readonly app: NexusApp;

  constructor(app: NexusApp) {
    this.app = app;
  }

  async call<T>(
    principal: Principal,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<ApiAnswer<T>> {
    const response = await this.send(principal, method, path, body);
    const text = await response.text();
    const parsed = parseJson(text);
    if (response.ok) return { ok: true, status: response.status, body: parsed as T };
    return {
      ok: false,
      status: response.status,
      body: parsed as T,
      error: errorOf(parsed) ?? {
        code: 'unknown',
        message: `The API answered ${response.status}.`,
      },
    };
  }

  /** A GET whose answer is not JSON of the API's own (a webhook's body): its exact text. */
  async text(
    principal: Principal,
    path: string,
  ): Promise<{ ok: boolean; status: number; text: string; error?: string }> {
    const response = await this.send(principal, 'GET', path, undefined);
    const text = await response.text();
    if (response.ok) return { ok: true, status: response.status, text };
    const error = errorOf(parseJson(text))?.message ?? `The API answered ${response.status}.`;
    return { ok: false, status: response.status, text: '', error };
  }

  /** The app's answer to one request made as `principal`. */
  private async send(
    principal: Principal,
    method: string,
    path: string,
    body: unknown,
  ): Promise<Response> {
    return this.app.fetch(
      new Request(`http://nexus.internal${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      }),
      { [INTERNAL_PRINCIPAL]: principal },
    );
  }

  /** Like `call`, but an error answer is thrown (as the page's error). */
  async get<T>(principal: Principal, path: string): Promise<T> {
    const answer = await this.call<T>(principal, 'GET', path);
    if (!answer.ok) throw new ApiAnswerError(answer.status, answer.error?.message ?? '');
    return answer.body;
  }
}

export class ApiAnswerError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiAnswerError';
    this.status = status;
  }
}

/** An answer's JSON; `undefined` for an empty or non-JSON one (its status says what happened). */
function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
