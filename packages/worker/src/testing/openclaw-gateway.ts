import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A REAL OpenClaw gateway for opt-in tests and benchmarks (`npm run test:openclaw` installs
 * OpenClaw from npm): its state in a folder of its own, hooks enabled with a token, and its agent's
 * model pointed at `ModelStandIn`, a local stand-in of an OpenAI-compatible chat API (the model is
 * the one part that cannot run here). The worker finds the port and the hooks token in its
 * openclaw.json, as on a user's machine.
 */
export interface RealGateway {
  /** The OpenClaw state folder (the worker's `openclaw.stateDir`). */
  readonly stateDir: string;
  readonly hooksUrl: string;
  readonly token: string;
  readonly model: ModelStandIn;
  /** What the gateway printed (for a failure's message). */
  output(): string;
  stop(): Promise<void>;
}

/** An OpenAI-compatible chat API that answers every request "Noted.", and keeps the prompts. */
export interface ModelStandIn {
  readonly url: string;
  readonly prompts: string[];
  stop(): Promise<void>;
}

export async function startModelStandIn(): Promise<ModelStandIn> {
  const prompts: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      answerModel(request, response, body, prompts);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    prompts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function answerModel(
  request: IncomingMessage,
  response: ServerResponse,
  body: string,
  prompts: string[],
): void {
  if (request.url?.endsWith('/models') === true) {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ object: 'list', data: [{ id: 'stand-in', object: 'model' }] }));
    return;
  }
  prompts.push(body);
  const base = { id: 'c1', created: 1, model: 'stand-in' };
  const usage = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 };
  if (body.includes('"stream":true')) {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (choices: unknown[], extra = {}) =>
      `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, ...extra })}\n\n`;
    response.write(chunk([{ index: 0, delta: { role: 'assistant', content: 'Noted.' } }]));
    response.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
    response.write(chunk([], { usage }));
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
      usage,
    }),
  );
}

/** The environment without Vitest's own variables, which OpenClaw takes as running its tests. */
export function openClawEnv(): NodeJS.ProcessEnv {
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

/**
 * Starts `openclaw gateway` with its home and state under `dir`, and resolves once its hooks
 * answer (up to `readyMs`; a failure carries the end of its output).
 */
export async function startRealGateway(
  openclaw: string,
  dir: string,
  options: { token?: string; readyMs?: number; agents?: readonly string[] } = {},
): Promise<RealGateway> {
  const token = options.token ?? 'real-hooks-token-0123456789abcdef';
  // `main` always; more agents (their own workspace and folder) when asked.
  const agents = ['main', ...(options.agents ?? []).filter((id) => id !== 'main')];
  const model = await startModelStandIn();
  const port = await freePort();
  const stateDir = join(dir, 'openclaw');
  for (const id of agents)
    await mkdir(join(stateDir, 'agents', id, 'sessions'), { recursive: true });
  await writeFile(
    join(stateDir, 'openclaw.json'),
    JSON.stringify({
      gateway: { mode: 'local', port, bind: 'loopback', auth: { mode: 'none' } },
      hooks: { enabled: true, token, path: '/hooks' },
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
      agents: {
        defaults: { model: { primary: 'local/stand-in' } },
        ...(agents.length > 1
          ? {
              list: agents.map((id) => ({
                id,
                ...(id === 'main' ? { default: true } : {}),
                workspace: join(dir, `workspace-${id}`),
                agentDir: join(stateDir, 'agents', id, 'agent'),
              })),
            }
          : {}),
      },
    }),
  );
  const child: ChildProcess = spawn(openclaw, ['gateway', '--port', String(port)], {
    env: { ...openClawEnv(), HOME: dir, OPENCLAW_STATE_DIR: stateDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const hooksUrl = `http://127.0.0.1:${port}/hooks`;
  const stop = async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    await model.stop();
  };
  // Ready when its hooks answer (no token: 401).
  const deadline = Date.now() + (options.readyMs ?? 120_000);
  for (;;) {
    const status = await fetch(`${hooksUrl}/agent`, { method: 'POST', body: '{}' }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 401) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(
        `the OpenClaw gateway did not answer on port ${port}:\n${output.slice(-3000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { stateDir, hooksUrl, token, model, output: () => output, stop };
}
