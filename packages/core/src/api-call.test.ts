import { describe, expect, it } from 'vitest';
import { ApiAnswerError, ApiUnreachableError, callApi, type SendRequest } from './api-call.ts';

const target = { baseUrl: 'http://nexus.test', apiKey: 'k' };
const answering =
  (status: number, text: string, seen: Parameters<SendRequest>[] = []): SendRequest =>
  (...args) => {
    seen.push(args);
    return Promise.resolve({ status, text });
  };

describe('callApi', () => {
  it('sends the key and a JSON body, and reads a JSON answer', async () => {
    const seen: Parameters<SendRequest>[] = [];
    const answer = await callApi(answering(200, '{"ok":true}', seen), target, 'POST', '/v1/x', {
      body: { a: 1 },
    });
    expect(answer).toEqual({ ok: true });
    expect(seen[0]?.[0]).toBe('http://nexus.test/v1/x');
    expect(seen[0]?.[1]).toMatchObject({
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
  });

  it("turns the API's error envelope into an ApiAnswerError with its code and message", async () => {
    const call = callApi(
      answering(409, '{"error":{"code":"lease_lost","message":"no longer yours"}}'),
      target,
      'POST',
      '/v1/webhooks/settle?x=1',
    );
    await expect(call).rejects.toBeInstanceOf(ApiAnswerError);
    await expect(call).rejects.toMatchObject({
      status: 409,
      code: 'lease_lost',
      message: 'POST /v1/webhooks/settle answered 409: no longer yours',
    });
  });

  it('reports a page that is not JSON by its status and text, and 204 as nothing', async () => {
    await expect(
      callApi(answering(502, '<h1>Bad Gateway</h1>'), target, 'GET', '/v1/x'),
    ).rejects.toMatchObject({
      code: 'http_502',
      detail: '<h1>Bad Gateway</h1>',
    });
    expect(await callApi(answering(204, ''), target, 'DELETE', '/v1/x')).toBeUndefined();
  });

  it('names the address when nothing answers', async () => {
    const down: SendRequest = () =>
      Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }));
    const call = callApi(down, target, 'GET', '/v1/x');
    await expect(call).rejects.toBeInstanceOf(ApiUnreachableError);
    await expect(call).rejects.toThrow(
      'the Nexus API at http://nexus.test is unreachable: connect ECONNREFUSED',
    );
  });
});
