import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { loadApiConfig, startServer, type NexusApp } from '@nexus/api';
import { API_KEY, backends, testApp, useBackend } from '@nexus/api/testing';
import type { Storage } from '@nexus/core';

const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

async function endpoint(app: NexusApp, id: string, agentId: string): Promise<void> {
  const response = await app.request('/v1/endpoints', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      id,
      hostId: 'poll-box',
      agentId,
      provider: 'token',
      header: 'x-token',
      secrets: ['poll-token-123'],
    }),
  });
  expect(response.status).toBe(201);
}

function post(app: NexusApp, id: string, n: number) {
  return app.request(`/hooks/${id}`, {
    method: 'POST',
    headers: { 'x-token': 'poll-token-123', 'content-type': 'application/json' },
    body: JSON.stringify({ n }),
  });
}

function claim(app: NexusApp, agentId: string, waitSeconds: number, signal?: AbortSignal) {
  return app.request('/v1/webhooks/claim', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ hostId: 'poll-box', agents: [agentId], waitSeconds }),
    ...(signal === undefined ? {} : { signal }),
  });
}

describe.each(backends(inject('azuriteConnectionString')))(
  'a claim that waits for webhooks, on $name storage',
  (backend) => {
    let storage: Storage;
    let app: NexusApp;
    useBackend(backend, (opened) => ({ storage, app } = opened));

    it('answers the moment a webhook arrives, not at the end of its wait', async () => {
      await endpoint(app, 'ep-poll', 'waiter');
      const started = performance.now();
      const waiting = claim(app, 'waiter', 20);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await post(app, 'ep-poll', 1)).status).toBe(202);
      const answer = (await (await waiting).json()) as { items: { agentId: string }[] };
      const ms = performance.now() - started;
      expect(answer.items.map((item) => item.agentId)).toEqual(['waiter']);
      // Woken by the arrival (about 300 ms in), far from the 20 s it could have waited.
      expect(ms).toBeLessThan(5000);
    });

    it('answers empty once its wait is over, and at once when nothing is asked to wait', async () => {
      await endpoint(app, 'ep-idle', 'idle');
      const started = performance.now();
      const answer = (await (await claim(app, 'idle', 1)).json()) as { items: unknown[] };
      expect(answer.items).toEqual([]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
      const quick = performance.now();
      await claim(app, 'idle', 0);
      expect(performance.now() - quick).toBeLessThan(950);
    });

    it('refuses a wait beyond 25 s, saying so', async () => {
      const response = await claim(app, 'idle', 60);
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(/waitSeconds/);
    });

    it('stops waiting when the server is stopping', async () => {
      const closing = new AbortController();
      const stopping = testApp(storage, { closing: closing.signal });
      const started = performance.now();
      const waiting = claim(stopping, 'idle', 20);
      setTimeout(() => {
        closing.abort();
      }, 200);
      expect(((await (await waiting).json()) as { items: unknown[] }).items).toEqual([]);
      expect(performance.now() - started).toBeLessThan(5000);
    });
  },
);

describe('a waiting claim over a real socket', () => {
  it('does not hold the Node server’s shutdown up', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'nexus-poll-'));
    const key = 'long-poll-key-0123456789';
    const server = await startServer(
      loadApiConfig({ NEXUS_DATA_DIR: dataDir, NEXUS_PORT: '0', NEXUS_API_KEYS: key }),
      pino({ level: 'silent' }),
    );
    const waiting = fetch(`${server.url}/v1/webhooks/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ hostId: 'poll-box', agents: ['main'], waitSeconds: 20 }),
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(5000);
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ items: [] });
  });
});
