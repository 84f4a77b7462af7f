import { coerceError } from './errors.ts';
import { errorOf } from './wire.ts';

/** How a client puts one request on the wire: the worker's pooled HTTP agent, the CLI's fetch. */
export type SendRequest = (
  url: string,
  init: {
    readonly method: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly body?: string | undefined;
    readonly signal?: AbortSignal | undefined;
  },
) => Promise<{ readonly status: number; readonly text: string }>;

/** The API answered, and not with 2xx: its own code and message, and the call that got it. */
export class ApiAnswerError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  constructor(status: number, code: string, detail: string, call: string) {
    super(`${call} answered ${String(status)}: ${detail}`);
    this.name = 'ApiAnswerError';
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** Nothing answered at that address. */
export class ApiUnreachableError extends Error {
  readonly baseUrl: string;
  readonly reason: string;
  constructor(baseUrl: string, reason: string, cause: unknown) {
    super(`the Nexus API at ${baseUrl} is unreachable: ${reason}`, { cause });
    this.name = 'ApiUnreachableError';
    this.baseUrl = baseUrl;
    this.reason = reason;
  }
}

/**
 * One JSON call to the Nexus API with its bearer key, shared by its clients (the worker, the
 * `nexus` CLI): the JSON body, the error envelope read into `ApiAnswerError`, a network failure
 * as `ApiUnreachableError`. Answers the parsed JSON (`undefined` for 204, the text if not JSON).
 */
export async function callApi(
  send: SendRequest,
  target: { readonly baseUrl: string; readonly apiKey: string },
  method: string,
  path: string,
  options: { readonly body?: unknown; readonly signal?: AbortSignal } = {},
): Promise<unknown> {
  const { body, signal } = options;
  let answer: { status: number; text: string };
  try {
    answer = await send(`${target.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${target.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (caught) {
    const error = coerceError(caught);
    const reason = error.cause instanceof Error ? error.cause.message : error.message;
    throw new ApiUnreachableError(target.baseUrl, reason, caught);
  }
  if (answer.status === 204) return undefined;
  if (answer.status < 200 || answer.status >= 300) {
    const { code, message } = answerError(answer.status, answer.text);
    throw new ApiAnswerError(
      answer.status,
      code,
      message,
      `${method} ${path.split('?')[0] ?? path}`,
    );
  }
  return parseJson(answer.text) ?? answer.text;
}

/**
 * The code and message of an error answer: the API's error envelope, else (a proxy's page, an
 * empty body) `http_<status>` and the start of the text.
 */
export function answerError(status: number, text: string): { code: string; message: string } {
  const error = errorOf(parseJson(text));
  return {
    code: error?.code ?? `http_${String(status)}`,
    message: error?.message ?? (text.slice(0, 300) || `HTTP ${String(status)}`),
  };
}

/** The JSON of an answer's body, or `undefined` when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
