import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpGatewayClient } from './gateway-client.ts';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A gateway stand-in on a real socket; returns the request's URL on it. */
async function gateway(handle: (request: IncomingMessage, response: ServerResponse) => void) {
  server = createServer(handle);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${String(port)}/hooks/agent`;
}

const request = (url: string) => ({
  url,
  headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
  body: '{"message":"hi"}',
});

describe('the gateway client over HTTP', () => {
  it('sends the body and headers, and reads the answer', async () => {
    let received = '';
    let auth = '';
    const url = await gateway((incoming, response) => {
      auth = incoming.headers.authorization ?? '';
      incoming.on('data', (part: Buffer) => (received += part.toString()));
      incoming.on('end', () => response.writeHead(200).end('{"ok":true,"runId":"r1"}'));
    });
    expect(await httpGatewayClient.send(request(url), 5000)).toMatchObject({
      kind: 'delivered',
      status: 200,
    });
    expect(received).toBe('{"message":"hi"}');
    expect(auth).toBe('Bearer t');
  });

  it('honours Retry-After on a 429', async () => {
    const url = await gateway((_incoming, response) => {
      response.writeHead(429, { 'retry-after': '7' }).end('{"error":"busy"}');
    });
    expect(await httpGatewayClient.send(request(url), 5000)).toMatchObject({
      kind: 'released',
      pause: 'busy',
      retryAfterSeconds: 7,
    });
  });

  it('counts a gateway that does not answer in time as a failed attempt, saying so', async () => {
    const url = await gateway(() => undefined);
    expect(await httpGatewayClient.send(request(url), 200)).toEqual({
      kind: 'failed',
      status: 0,
      reason: 'the gateway did not answer within 0.2 s',
    });
  });

  it('pauses delivery when nothing listens, naming why', async () => {
    const url = await gateway(() => undefined);
    server?.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const outcome = await httpGatewayClient.send(request(url), 5000);
    expect(outcome).toMatchObject({ kind: 'released', pause: 'down' });
    expect(outcome.kind === 'released' ? outcome.reason : '').toMatch(
      /the gateway is unreachable: connect ECONNREFUSED/,
    );
  });
});
