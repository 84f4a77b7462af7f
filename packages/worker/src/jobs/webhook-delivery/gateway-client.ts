import { coerceError } from '@nexus/core';
import { classifyGatewayResponse, unreachable, type GatewayOutcome } from './gateway-outcome.ts';
import type { GatewayRequest } from './gateway-request.ts';

/** The OpenClaw gateway as the delivery job needs it; tests pass a stand-in. */
export interface GatewayClient {
  /** Sends one webhook; what the answer means for the queue. Never throws. */
  send(request: GatewayRequest, timeoutMs: number): Promise<GatewayOutcome>;
  /** Any HTTP answer at all means the gateway is up again. */
  answers(hooksUrl: string): Promise<boolean>;
}

/** The gateway over HTTP (Node's fetch). */
export const httpGatewayClient: GatewayClient = {
  async send(request, timeoutMs) {
    let response: Response;
    try {
      // Not the job's signal: a request cut in flight leaves it unknown whether the gateway has it.
      response = await fetch(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (caught) {
      const error = coerceError(caught);
      if (error.name === 'TimeoutError') {
        return {
          kind: 'failed',
          status: 0,
          reason: `the gateway did not answer within ${String(timeoutMs / 1000)} s`,
        };
      }
      return unreachable(error.cause instanceof Error ? error.cause.message : error.message);
    }
    const text = await response.text().catch(() => '');
    return classifyGatewayResponse(
      response.status,
      response.headers.get('retry-after'),
      text,
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
