import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PROXY_VARIABLES = ['NODE_USE_ENV_PROXY', 'HTTP_PROXY', 'NO_PROXY'] as const;
const saved = Object.fromEntries(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
// Set before the module loads, as it would be in the worker's environment.
process.env['NODE_USE_ENV_PROXY'] = '1';
process.env['NO_PROXY'] = '';

describe('httpSend behind a proxy (NODE_USE_ENV_PROXY=1)', () => {
  const seen: string[] = [];
  const proxy = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('via proxy'));
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    process.env['HTTP_PROXY'] = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => proxy.close(resolve));
    // Test files may share a process: leave its environment as it was.
    for (const name of PROXY_VARIABLES) Reflect.deleteProperty(process.env, name);
    for (const [name, value] of Object.entries(saved))
      if (value !== undefined) process.env[name] = value;
  });

  it('sends a request for another host through the proxy in HTTP_PROXY', async () => {
    const { httpSend } = await import('./http-send.ts');
    const answer = await httpSend('http://nexus.example.invalid/v1/health', {
      method: 'PUT',
      headers: {},
      body: 'x',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('via proxy');
    expect(seen).toEqual(['PUT http://nexus.example.invalid/v1/health']);
  });
});
