import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import { runWorkerJob } from '../src/testing/worker-harness.ts';

/**
 * Webhook delivery against a REAL OpenClaw gateway (`npm run test:openclaw` installs OpenClaw
 * and sets NEXUS_TEST_OPENCLAW). The gateway runs with its state in a temp folder, hooks enabled,
 * and its agent's model pointed at a local stand-in of an OpenAI-compatible chat API (a model is
 * the one part that cannot run here). The worker reads the gateway's port, hooks token and body
 * limit from openclaw.json, as on a user's machine. Each of OpenClaw's answers that a request of
 * Nexus can provoke is verified once: 200 (a run started, and the model asked), 400 (an agent
 * OpenClaw does not have: dead at once), 401 (a wrong hooks token: kept, attempts unspent, said
 * so), 404 (a mapping OpenClaw does not have: dead at once) and 413 (over hooks.maxBodyBytes: a
 * notice within the limit stands in). 409, 429, 502 and 503 come from a busy or failing gateway
 * and are verified against the stand-in gateway (webhook-delivery.e2e.test.ts).
 */
const OPENCLAW = process.env['NEXUS_TEST_OPENCLAW'];
const KEY = 'real-gateway-key-0123456789';
const HOOKS_TOKEN = 'real-hooks-token-0123456789abcdef';
/**
 * OpenClaw's default `hooks.maxBodyBytes`. (2026.9.6 took a 70 KB body with the setting at
 * 16384: a lower setting did not apply, so the test passes the default.)
 */
const MAX_BODY_BYTES = 256 * 1024;

interface Item {
  state: string;
  attempts: number;
  lastStatus?: number;
  lastError?: string;
}

/** The environment without Vitest's own variables, which OpenClaw takes as running its tests. */
function plainEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('VITEST') && name !== 'NODE_ENV',
    ),
  );
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** An OpenAI-compatible chat API that answers every request "Noted.", and keeps the prompts. */
async function startModel(): Promise<{ server: Server; url: string; prompts: string[] }> {
  const prompts: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url?.endsWith('/models')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({ object: 'list', data: [{ id: 'stand-in', object: 'model' }] }),
        );
        return;
      }
      prompts.push(body);
      const base = { id: 'c1', created: 1, model: 'stand-in' };
      if (body.includes('"stream":true')) {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = (choices: unknown[], extra = {}) =>
          `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, ...extra })}\n\n`;
        response.write(chunk([{ index: 0, delta: { role: 'assistant', content: 'Noted.' } }]));
        response.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
        response.write(
          chunk([], { usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } }),
        );
        response.end('data: [DONE]\n\n');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [
            { index: 0, message: { role: 'assistant', content: 'Noted.' }, finish_reason: 'stop' },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/v1`, prompts };
}

describe.skipIf(OPENCLAW === undefined)('webhooks into a real OpenClaw gateway', () => {
  let api: ServerProcess;
  let gateway: ChildProcess;
  let gatewayLog = '';
  let model: Awaited<ReturnType<typeof startModel>>;
  let dir: string;
  let hooksUrl: string;
  const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

  const endpoint = async (body: Record<string, unknown>): Promise<string> => {
    const response = await fetch(`${api.url}/v1/endpoints`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ provider: 'github', hostId: 'oc-host', ...body }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    return ((await response.json()) as { secrets: string[] }).secrets[0] ?? '';
  };
  const send = async (endpointId: string, secret: string, title: string, pad = 0) => {
    const payload = JSON.stringify({
      action: 'opened',
      repository: { full_name: 'acme/app' },
      issue: { number: 1, title, body: 'x'.repeat(pad) },
    });
    const response = await fetch(`${api.url}/hooks/${endpointId}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': await sign(secret, payload),
      },
      body: payload,
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const item = async (agentId: string, id: string): Promise<Item> =>
    (await (
      await fetch(`${api.url}/v1/hosts/oc-host/agents/${agentId}/webhooks/${id}`, { headers })
    ).json()) as Item;
  /** The worker's webhook job once, for these agents, with `gateway` settings of its own. */
  const deliver = async (
    agents: string[],
    gatewaySettings: Record<string, unknown> = {},
    extra: Record<string, unknown> = {},
  ) => {
    const config = join(dir, `worker-${randomUUID()}.json`);
    await writeFile(
      config,
      JSON.stringify({
        host: { id: 'oc-host' },
        nexus: { url: api.url, apiKey: KEY },
        openclaw: { stateDir: join(dir, 'openclaw') },
        stateDir: join(dir, 'worker-state'),
        jobs: [
          {
            id: 'webhooks',
            type: 'webhook_delivery',
            intervalMinutes: 1,
            config: {
              agents,
              pollSeconds: 0.2,
              leaseSeconds: 60,
              ...extra,
              ...(Object.keys(gatewaySettings).length > 0 ? { gateway: gatewaySettings } : {}),
            },
          },
        ],
      }),
    );
    return runWorkerJob(config, [], 'webhooks');
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nexus-gateway-'));
    model = await startModel();
    const port = await freePort();
    const state = join(dir, 'openclaw');
    await mkdir(join(state, 'agents', 'main', 'sessions'), { recursive: true });
    await writeFile(
      join(state, 'openclaw.json'),
      JSON.stringify({
        gateway: { mode: 'local', port, bind: 'loopback', auth: { mode: 'none' } },
        hooks: { enabled: true, token: HOOKS_TOKEN, path: '/hooks' },
        models: {
          providers: {
            local: {
              baseUrl: model.url,
              api: 'openai-completions',
              apiKey: 'local',
              models: [
                {
                  id: 'stand-in',
                  name: 'Stand-in',
                  input: ['text'],
                  contextWindow: 32_000,
                  maxTokens: 1024,
                },
              ],
            },
          },
        },
        agents: { defaults: { model: { primary: 'local/stand-in' } } },
      }),
    );
    gateway = spawn(OPENCLAW ?? '', ['gateway', '--port', String(port)], {
      env: { ...plainEnv(), HOME: dir, OPENCLAW_STATE_DIR: state },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    gateway.stdout?.on('data', (chunk: Buffer) => (gatewayLog += chunk.toString()));
    gateway.stderr?.on('data', (chunk: Buffer) => (gatewayLog += chunk.toString()));
    hooksUrl = `http://127.0.0.1:${port}/hooks`;
    // Ready when its hooks answer (a wrong token: 401).
    await waitFor(
      `the gateway to answer on port ${port}`,
      async () => (await fetch(`${hooksUrl}/agent`, { method: 'POST', body: '{}' })).status === 401,
      120_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${gatewayLog.slice(-3000)}`);
    });
    api = await spawnServer(await mkdtemp(join(tmpdir(), 'nexus-gateway-api-')), {
      NEXUS_API_KEYS: KEY,
    });
  }, 180_000);

  afterAll(async () => {
    const exited = new Promise((resolve) => gateway.once('exit', resolve));
    gateway.kill('SIGTERM');
    const timer = setTimeout(() => gateway.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    await api.stop();
    model.server.closeAllConnections();
    await new Promise((resolve) => model.server.close(resolve));
  }, 30_000);

  it('200: delivers a webhook as an agent run, and the agent asks its model about it', async () => {
    const secret = await endpoint({ id: 'gh-main', agentId: 'main' });
    const id = await send('gh-main', secret, 'Quokka sighting at the dock');
    const run = await deliver(['main']);
    expect(run.code, run.stderr).toBe(0);
    expect(await item('main', id)).toMatchObject({ state: 'delivered', lastStatus: 200 });
    await waitFor(
      'the model to be asked about the webhook',
      () => Promise.resolve(model.prompts.some((prompt) => prompt.includes('Quokka sighting'))),
      60_000,
    );
  }, 120_000);

  it('401: a wrong hooks token keeps the webhook, attempts unspent, and says what to check', async () => {
    const secret = await endpoint({ id: 'gh-token', agentId: 'main' });
    const id = await send('gh-token', secret, 'Token check');
    const wrong = await deliver(['main'], { token: 'not-the-hooks-token' });
    expect(wrong.code).toBe(1);
    expect(wrong.lines.some((line) => /refused the hooks token \(401/.test(line.msg ?? ''))).toBe(
      true,
    );
    expect(await item('main', id)).toMatchObject({ state: 'pending', attempts: 0 });
    // The token from openclaw.json again: delivered.
    expect((await deliver(['main'])).code).toBe(0);
    expect(await item('main', id)).toMatchObject({ state: 'delivered', lastStatus: 200 });
  }, 120_000);

  it('400: an agent OpenClaw does not have is dead at once, with OpenClaw’s reason', async () => {
    const secret = await endpoint({ id: 'gh-ghost', agentId: 'ghost' });
    const id = await send('gh-ghost', secret, 'For nobody');
    expect((await deliver(['ghost'])).code).toBe(0);
    const dead = await item('ghost', id);
    expect(dead).toMatchObject({ state: 'dead', attempts: 1, lastStatus: 400 });
    expect(dead.lastError).toMatch(/unknown agentId/);
  }, 120_000);

  it('404: a mapping OpenClaw does not have is dead at once', async () => {
    const secret = await endpoint({
      id: 'gh-mapping',
      agentId: 'main',
      action: 'mapping',
      mapping: 'not-configured',
    });
    const id = await send('gh-mapping', secret, 'Mapped');
    expect((await deliver(['main'])).code).toBe(0);
    expect(await item('main', id)).toMatchObject({ state: 'dead', attempts: 1, lastStatus: 404 });
  }, 120_000);

  it('413: over hooks.maxBodyBytes, a notice within the limit stands in for the webhook', async () => {
    const secret = await endpoint({ id: 'gh-large', agentId: 'main' });
    const id = await send('gh-large', secret, 'Large body', MAX_BODY_BYTES + 50_000);
    // The worker believes a higher limit than the gateway's and sends long messages, as when
    // the job's settings disagree with openclaw.json: the gateway's own 413 answers.
    const run = await deliver(
      ['main'],
      { maxBodyBytes: 4 * MAX_BODY_BYTES },
      { maxMessageChars: 1_000_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(await item('main', id)).toMatchObject({ state: 'delivered', lastStatus: 200 });
    expect(run.lines.some((line) => /as a notice: .*\(413/.test(line.msg ?? ''))).toBe(true);
    await waitFor(
      'the model to be told of the large webhook',
      () =>
        Promise.resolve(
          model.prompts.some((prompt) => prompt.includes(`nexus webhooks show main ${id}`)),
        ),
      60_000,
    );
  }, 120_000);
});
