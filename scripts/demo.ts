/**
 * `npm run demo`: the whole flow in under a minute on a machine without OpenClaw. Builds a sample
 * OpenClaw state folder (two agents, live and archived sessions, a malformed file), starts the API
 * on a free port with a temporary data folder, runs the worker's session_upload job once, and
 * shows what the API now holds; then a signed GitHub webhook, accepted once, delivered by the
 * worker's webhook_delivery job to a stand-in OpenClaw gateway; then more sample data (two hosts,
 * a conversation with every kind of entry, webhooks delivered and dead) for the dashboard, which
 * stays open to look at until Ctrl-C (or, with --exit or without a terminal, the command ends and
 * says how to open it again). Everything lives in a temp folder, kept at the end unless --clean.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createOpenClawFixture } from '@nexus/worker/testing';
import { githubDelivery, seedDashboard, spawnServer } from '@nexus/api/testing';
import { GatewayStandIn } from '@nexus/worker/testing';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: npm run demo [-- --exit] [-- --clean]\n\nRuns the API and the worker on a sample OpenClaw folder, prints what was stored, adds sample\ndata for the dashboard and leaves the dashboard open until Ctrl-C.\n  --exit    end after the run instead of keeping the dashboard open\n  --clean   remove the temp folder at the end (it is kept by default, to look around)\n',
  );
  process.exit(0);
}

const run = promisify(execFile);
const clean = process.argv.includes('--clean');
const stayOpen = !process.argv.includes('--exit') && process.stdout.isTTY;
const dir = await mkdtemp(join(tmpdir(), 'nexus-demo-'));
const key = 'demo-key-0123456789';
const step = (text: string) => process.stdout.write(`\n== ${text}\n`);

step(`Sample OpenClaw state folder in ${join(dir, 'openclaw')}`);
const fixture = await createOpenClawFixture(join(dir, 'openclaw'));
process.stdout.write(
  `   ${fixture.completed.length} completed transcripts, ${fixture.live.length} live sessions, 1 malformed file, ${fixture.sidecars.length} sidecars\n`,
);

step('Starting the Nexus API (embedded storage)');
const server = await spawnServer(join(dir, 'api'), {
  NEXUS_API_KEYS: key,
  NEXUS_LOG_LEVEL: 'info',
});
process.stdout.write(`   ${server.url}\n`);
const HOOKS_TOKEN = 'demo-hooks-token';
const gateway = new GatewayStandIn({ token: HOOKS_TOKEN });
await gateway.start();

try {
  const config = join(dir, 'worker.json');
  await writeFile(
    config,
    JSON.stringify({
      host: { id: 'demo-laptop', name: 'The demo machine' },
      nexus: { url: server.url, apiKey: key },
      openclaw: { stateDir: fixture.stateDir },
      stateDir: join(dir, 'worker-state'),
      jobs: [
        {
          id: 'session-upload',
          type: 'session_upload',
          intervalMinutes: 15,
          config: { mode: 'keep' },
        },
        {
          id: 'webhooks',
          type: 'webhook_delivery',
          intervalMinutes: 1,
          config: { agents: ['main'], gateway: { url: gateway.url, token: HOOKS_TOKEN } },
        },
      ],
    }),
  );
  step('nexus-worker --job session-upload');
  const worker = fileURLToPath(new URL('../packages/worker/src/cli/main.ts', import.meta.url));
  const result = await run(
    process.execPath,
    [worker, '--config', config, '--job', 'session-upload'],
    {
      env: { ...process.env, NEXUS_LOG_FORMAT: 'json' },
    },
  ).catch((error: unknown) => ({
    // A non-zero exit (a failed upload) still printed its report.
    stdout:
      typeof error === 'object' && error !== null && 'stdout' in error ? String(error.stdout) : '',
  }));
  for (const line of result.stdout.split('\n').filter((l) => l.startsWith('{'))) {
    const entry = JSON.parse(line) as { msg: string; file?: string };
    process.stdout.write(
      `   ${entry.file ? `${entry.file.slice(0, 60).padEnd(60)}  ` : ''}${entry.msg}\n`,
    );
  }

  const get = async (path: string) =>
    (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}` } })).json();
  step('What the API holds now');
  const { hosts } = (await get('/v1/hosts')) as { hosts: { hostId: string; agents: unknown[] }[] };
  for (const host of hosts)
    process.stdout.write(`   host ${host.hostId}: ${String(host.agents.length)} agents\n`);
  for (const agent of ['main', 'work']) {
    const list = (await get(`/v1/hosts/demo-laptop/agents/${agent}/sessions`)) as {
      sessions: {
        sessionId: string;
        kinds: string[];
        generations: number;
        costUsd: number;
        tokens: { total: number };
      }[];
    };
    process.stdout.write(`   agent ${agent}: ${list.sessions.length} sessions\n`);
    for (const s of list.sessions) {
      process.stdout.write(
        `     ${s.sessionId.padEnd(50)} ${s.kinds.join(',').padEnd(8)} ${String(s.tokens.total).padStart(8)} tokens  $${s.costUsd.toFixed(4)}\n`,
      );
    }
  }
  const usage = (await get('/v1/hosts/demo-laptop/agents/main/usage')) as {
    sessions: number;
    totals: { totalTokens: number; costUsd: number };
    byDay: { day: string; model: string; costUsd: number }[];
  };
  process.stdout.write(
    `   usage of main: ${usage.sessions} sessions, ${usage.totals.totalTokens} tokens, $${usage.totals.costUsd.toFixed(4)}\n`,
  );
  for (const day of usage.byDay)
    process.stdout.write(`     ${day.day}  ${day.model.padEnd(20)} $${day.costUsd.toFixed(4)}\n`);

  step(
    'A GitHub webhook: endpoint, signed delivery (twice), delivery to a stand-in OpenClaw gateway',
  );
  const created = (await (
    await fetch(`${server.url}/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'github-demo',
        hostId: 'demo-laptop',
        agentId: 'main',
        provider: 'github',
      }),
    })
  ).json()) as { url: string; secrets: string[] };
  process.stdout.write(`   endpoint ${server.url}${created.url}\n`);
  const { body: payload, headers } = githubDelivery(created.secrets[0] ?? '', 'issues', {
    action: 'opened',
    repository: { full_name: 'acme/app' },
    sender: { login: 'ana' },
    issue: {
      number: 42,
      title: 'Login fails on Safari',
      html_url: 'https://github.com/acme/app/issues/42',
    },
  });
  for (const attempt of ['first', 'again']) {
    const answer = await fetch(`${server.url}${created.url}`, {
      method: 'POST',
      headers,
      body: payload,
    });
    process.stdout.write(`   POST (${attempt}): ${answer.status} ${await answer.text()}\n`);
  }
  const forged = await fetch(`${server.url}${created.url}`, {
    method: 'POST',
    headers: { ...headers, 'x-hub-signature-256': 'sha256=00' },
    body: payload,
  });
  process.stdout.write(`   POST with a wrong signature: ${forged.status}\n`);
  await run(process.execPath, [worker, '--config', config, '--job', 'webhooks'], {
    env: { ...process.env, NEXUS_LOG_FORMAT: 'json' },
  });
  for (const hit of gateway.hits) {
    process.stdout.write(`   the gateway received POST ${hit.path}:\n`);
    for (const line of String(hit.body['message']).split('\n').slice(0, 4))
      process.stdout.write(`     ${line.slice(0, 110)}\n`);
  }

  step('More sample data for the dashboard: two hosts, a rich conversation, webhooks');
  const seed = await seedDashboard({ url: server.url, key });
  process.stdout.write(
    `   ${seed.sessions} sessions on hosts ${seed.hosts.join(', ')}; webhooks ${seed.webhooks.pending} waiting, ${seed.webhooks.delivered} delivered, ${seed.webhooks.dead} dead\n`,
  );

  step('The dashboard');
  process.stdout.write(`   open ${server.url}/ and log in with the key ${key}\n`);
  if (!clean) process.stdout.write(`   the data is in ${join(dir, 'api')}\n`);
  if (stayOpen) {
    process.stdout.write('   Ctrl-C stops the demo.\n');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } else if (!clean) {
    process.stdout.write(
      `   to open it again: NEXUS_API_KEYS=${key} npm run serve -- --data-dir ${join(dir, 'api')}\n`,
    );
  }
  step(
    'Done. For the real thing on this machine: npm start (the API and the worker against ~/.openclaw)',
  );
} finally {
  await gateway.stop();
  await server.stop();
  if (clean) await rm(dir, { recursive: true, force: true });
  else
    process.stdout.write(
      `\nThe demo's files stay in ${dir} (npm run demo -- --clean removes them)\n`,
    );
}
