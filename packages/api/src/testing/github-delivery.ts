import { createHmac, randomUUID } from 'node:crypto';

/**
 * A GitHub webhook delivery as GitHub sends it: the JSON body and its headers, signed with the
 * endpoint's secret (`X-Hub-Signature-256`, HMAC-SHA256 of the body).
 */
export function githubDelivery(
  secret: string,
  event: string,
  payload: unknown,
  deliveryId: string = randomUUID(),
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
  };
}
