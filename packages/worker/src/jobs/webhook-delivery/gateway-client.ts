import { coerceError } from '@nexus/core';
import { httpSend, type HttpAnswer } from '../../api-client/http-send.ts';
import { classifyGatewayResponse, unreachable, type GatewayOutcome } from './gateway-outcome.ts';
import type { GatewayRequest } from './gateway-request.ts';

/** The OpenClaw gateway as the delivery job needs it; tests pass a stand-in. */
export interface GatewayClient {
  /** Sends one webhook; what the answer means for the queue. Never throws. */
  send(request: GatewayRequest, timeoutMs: number): Promise<GatewayOutcome>;
  /** Any HTTP answer at all means the gateway is up again. */
  answers(hooksUrl: string): Promise<boolean>;
}

/**
 * The gateway over HTTP, with Node's own client on kept-alive connections (`httpSend`): `fetch`
 * cost the worker about twice the CPU per webhook, a seventh of its time in bench B5.
 */
export const httpGatewayClient: GatewayClient = {
  async send(request, timeoutMs) {
    // Not the job's signal: a request cut in flight leaves it unknown whether the gateway has it.
    const timeout = AbortSignal.timeout(timeoutMs);
    let answer: HttpAnswer;
    try {
      answer = await httpSend(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: timeout,
      });
    } catch (caught) {
      if (timeout.aborted) {
        return {
          kind: 'failed',
          status: 0,
          reason: `the gateway did not answer within ${String(timeoutMs / 1000)} s`,
        };
      }
      return unreachable(coerceError(caught).message);
    }
    const retryAfter = answer.headers['retry-after'];
    return classifyGatewayResponse(
      answer.status,
      retryAfter ?? null,
      answer.body.toString('utf8'),
      Date.now(),
    );
  },
  async answers(hooksUrl) {
    try {
      await fetch(`${hooksUrl}/wake`, { method: 'GET', signal: AbortSignal.timeout(2000) });
      return true;
    } catch {
      return false;
    }
  },
};
