import { ApiAnswerError, ConfigError, callApi } from '@nexus/core';
import { sendOverHttp } from './nexus-client.ts';

/**
 * One JSON request of a one-shot command (`enrol`, `restore`): the API's refusal becomes a
 * `ConfigError` carrying its own message, so the command ends with one clear line and exit 2.
 */
export async function commandApi(
  target: { readonly url: string; readonly apiKey: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  try {
    return await callApi(
      sendOverHttp,
      { baseUrl: target.url, apiKey: target.apiKey },
      method,
      path,
      {
        body,
      },
    );
  } catch (error) {
    if (error instanceof ApiAnswerError)
      throw new ConfigError(
        `The API at ${target.url} answered ${String(error.status)}: ${error.detail}`,
      );
    throw error;
  }
}
