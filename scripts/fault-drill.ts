/**
 * `npm run fault-drill`: the faults that once stopped backups without anyone noticing, played
 * end to end with the real API and worker processes, each followed by the fix a user would make.
 * Every case ends by checking that each transcript is stored exactly once and the API answers.
 * Prints a table; exits 1 when a case fails. The full-disk case mounts a tmpfs and needs root on
 * Linux; elsewhere it is reported as skipped.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { TableServiceClient } from '@azure/data-tables';
import { buildTranscript } from '@nexus/core/testing';
import { startAzurite } from '@nexus/api/testing';
import { spawnServer, type ServerProcess } from '@nexus/api/testing';
import { createOpenClawFixture } from '@nexus/worker/testing';
import {
  runWorkerJob,
  storedGenerations,
  summaryOf,
  writeWorkerConfig,
  type WorkerRun,
} from '@nexus/worker/testing';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: npm run fault-drill\n\nPlays the faults that used to stop backups silently (a wrong key, a damaged worker ledger,\nkill -9 of the API during a large upload, a full disk, a deleted Azure container) against\nthe real API and worker, and checks that every transcript ends up stored exactly once.\n',
  );
  process.exit(0);
}

const KEY = 'fault-drill-key-0123456789';
const root = await mkdtemp(join(tmpdir(), 'nexus-fault-drill-'));
const results: { fault: string; seen: string; outcome: string; ok: boolean }[] = [];
const log = (text: string) => process.stdout.write(`${text}\n`);

interface Expected {
  readonly sessionId: string;
  readonly sha256: string;
}

/** Every expected transcript stored exactly once, and nothing else. */
async function exactlyOnce(
  url: string,
  expected: readonly Expected[],
): Promise<string | undefined> {
  const stored = [
    ...(await storedGenerations(url, KEY, 'main')),
    ...(await storedGenerations(url, KEY, 'work')),
  ];
  const want = expected.map((e) => `${e.sessionId}/${e.sha256}`).sort();
  const have = stored.map((g) => `${g.sessionId}/${g.sha256}`).sort();
  const missing = want.filter((key) => !have.includes(key));
  const extra = have.filter((key, i) => !want.includes(key) || have.indexOf(key) !== i);
  if (missing.length === 0 && extra.length === 0) return undefined;
  return `${String(missing.length)} missing, ${String(extra.length)} extra or duplicated`;
}

async function healthOf(url: string): Promise<string> {
  try {
    const response = await fetch(`${url}/v1/health`);
    const body = (await response.json()) as { status: string };
    return `${String(response.status)} ${body.status}`;
  } catch (error) {
    return `unreachable (${String(error)})`;
  }
}

function line(run: WorkerRun, pattern: RegExp): string {
  const found = run.lines.find((l) => typeof l.msg === 'string' && pattern.test(l.msg));
  return typeof found?.msg === 'string' ? found.msg : '(no such line)';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  });
}

/** A reset archive of about `megabytes`, added to agent main's sessions folder. */
async function addLargeArchive(
  stateDir: string,
  sessionId: string,
  megabytes: number,
): Promise<Expected> {
  const { text } = buildTranscript({ sessionId, turns: Math.round(megabytes * 1560) });
  const dir = join(stateDir, 'agents', 'main', 'sessions');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${sessionId}.jsonl.reset.2026-11-30T10-00-00.000Z`), text);
  const { createHash } = await import('node:crypto');
  return { sessionId, sha256: createHash('sha256').update(text).digest('hex') };
}

async function runCase(fault: string, body: () => Promise<{ seen: string; outcome: string }>) {
  log(`\n== ${fault}`);
  try {
    const { seen, outcome } = await body();
    results.push({ fault, seen, outcome, ok: true });
    log(`   ${seen}\n   ${outcome}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    results.push({ fault, seen: 'failed', outcome: message, ok: false });
    log(`   FAILED: ${message}`);
  }
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

// 1 and 2 share an OpenClaw folder and an API on embedded storage.
const dir = join(root, 'embedded');
const fixture = await createOpenClawFixture(join(dir, 'openclaw'));
const expected: Expected[] = fixture.completed.map((f) => ({
  sessionId: f.sessionId,
  sha256: f.sha256,
}));
const port = await freePort();
let api: ServerProcess = await spawnServer(join(dir, 'api'), { NEXUS_API_KEYS: KEY }, port);
const base = { url: api.url, stateDir: fixture.stateDir, mode: 'keep' as const };
const config = await writeWorkerConfig(dir, { ...base, apiKey: KEY });

try {
  await runCase('wrong API key, then the right one', async () => {
    const wrong = await runWorkerJob(await writeWorkerConfig(dir, { ...base, apiKey: 'WRONG' }));
    check(wrong.code === 1, `the run with a wrong key exited ${String(wrong.code)}, not 1`);
    check(summaryOf(wrong)['uploaded'] === 0, 'the run with a wrong key uploaded something');
    const right = await runWorkerJob(await writeWorkerConfig(dir, { ...base, apiKey: KEY }));
    check(right.code === 0, `the run with the right key exited ${String(right.code)}`);
    const problem = await exactlyOnce(api.url, expected);
    check(problem === undefined, `after the right key: ${problem ?? ''}`);
    return {
      seen: `wrong key: exit 1, "${line(wrong, /stopped uploading/).slice(0, 90)}…"`,
      outcome: `right key: exit 0, ${String(summaryOf(right)['uploaded'])} uploaded; ${String(expected.length)} of ${String(expected.length)} stored once`,
    };
  });

  await runCase('a damaged worker ledger', async () => {
    await writeFile(join(dir, 'worker-state', 'ledger.sqlite'), randomBytes(8192));
    const run = await runWorkerJob(config);
    check(run.code === 0, `the run exited ${String(run.code)}`);
    const counts = summaryOf(run);
    check(counts['uploaded'] === 0, 'content was stored again');
    const problem = await exactlyOnce(api.url, expected);
    check(problem === undefined, problem ?? '');
    return {
      seen: `"${line(run, /ledger .* is damaged/).slice(0, 90)}…"`,
      outcome: `exit 0, ${String(counts['alreadyPresent'])} answered "already stored", 0 stored twice`,
    };
  });

  await runCase('kill -9 of the API during a large upload', async () => {
    const large = await addLargeArchive(fixture.stateDir, 'drill-large', 80);
    const tmp = join(dir, 'api', 'data', 'tmp');
    const worker = runWorkerJob(config);
    // Kill while the large body is being written: its temp file is growing.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const parts = existsSync(tmp) ? readdirSync(tmp).filter((n) => n.endsWith('.part')) : [];
      if (parts.some((n) => (statSync(join(tmp, n), { throwIfNoEntry: false })?.size ?? 0) > 8e6))
        break;
      check(Date.now() < deadline, 'the large upload never started');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await api.kill();
    api = await spawnServer(join(dir, 'api'), { NEXUS_API_KEYS: KEY }, port);
    const run = await worker;
    check(run.code === 0, `the worker exited ${String(run.code)}: ${run.stderr.slice(-300)}`);
    const problem = await exactlyOnce(api.url, [...expected, large]);
    check(problem === undefined, problem ?? '');
    const leftovers = existsSync(tmp) ? readdirSync(tmp).length : 0;
    check(leftovers === 0, `${String(leftovers)} temp files left after the restart`);
    return {
      seen: 'API killed with 8 MB of an 80 MB body written; restarted on its port',
      outcome: `worker retried through the restart: exit 0, the large transcript stored once; no temp file left; health ${await healthOf(api.url)}`,
    };
  });
} finally {
  await api.stop();
}

await runCase('a full disk under embedded storage', async () => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    return { seen: 'skipped: mounting a small tmpfs needs root on Linux', outcome: 'skipped' };
  const mount = join(root, 'tmpfs');
  await mkdir(mount);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mount]);
  const fullDir = join(root, 'full');
  let server: ServerProcess | undefined;
  try {
    const small = await createOpenClawFixture(join(fullDir, 'openclaw'));
    const large = await addLargeArchive(small.stateDir, 'drill-full', 30);
    const want = [
      ...small.completed.map((f) => ({ sessionId: f.sessionId, sha256: f.sha256 })),
      large,
    ];
    server = await spawnServer(join(mount, 'nexus'), { NEXUS_API_KEYS: KEY });
    const cfg = await writeWorkerConfig(fullDir, {
      url: server.url,
      apiKey: KEY,
      stateDir: small.stateDir,
      mode: 'keep',
    });
    const full = await runWorkerJob(cfg);
    check(full.code === 1, `the run on a full disk exited ${String(full.code)}, not 1`);
    const degraded = await healthOf(server.url);
    check(degraded.startsWith('503 degraded'), `health said ${degraded}`);
    execFileSync('mount', ['-o', 'remount,size=160m', mount]);
    const again = await runWorkerJob(cfg);
    check(again.code === 0, `the run after freeing space exited ${String(again.code)}`);
    const problem = await exactlyOnce(server.url, want);
    check(problem === undefined, problem ?? '');
    return {
      seen: `16 MB disk, 30 MB transcript: exit 1, "${line(full, /stopped uploading/).slice(0, 80)}…"; health ${degraded}`,
      outcome: `space freed: exit 0, all ${String(want.length)} stored once; health ${await healthOf(server.url)}`,
    };
  } finally {
    await server?.stop();
    execFileSync('umount', ['-l', mount]);
  }
});

await runCase('the Azure container and table deleted under a running API (Azurite)', async () => {
  const azurite = await startAzurite();
  const azureDir = join(root, 'azure');
  let server: ServerProcess | undefined;
  try {
    const container = `drill-${randomBytes(4).toString('hex')}`;
    const prefix = `d${randomBytes(4).toString('hex')}`;
    server = await spawnServer(join(azureDir, 'api'), {
      NEXUS_API_KEYS: KEY,
      NEXUS_STORAGE: 'azure',
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      NEXUS_AZURE_CONTAINER: container,
      NEXUS_AZURE_TABLE_PREFIX: prefix,
    });
    await BlobServiceClient.fromConnectionString(azurite.connectionString).deleteContainer(
      container,
    );
    await TableServiceClient.fromConnectionString(azurite.connectionString, {
      allowInsecureConnection: true,
    }).deleteTable(`${prefix}rows`);
    const openclaw = await createOpenClawFixture(join(azureDir, 'openclaw'));
    const want = openclaw.completed.map((f) => ({ sessionId: f.sessionId, sha256: f.sha256 }));
    const cfg = await writeWorkerConfig(azureDir, {
      url: server.url,
      apiKey: KEY,
      stateDir: openclaw.stateDir,
      mode: 'keep',
    });
    const run = await runWorkerJob(cfg);
    check(run.code === 0, `the run exited ${String(run.code)}`);
    const problem = await exactlyOnce(server.url, want);
    check(problem === undefined, problem ?? '');
    const second = await runWorkerJob(cfg);
    check(summaryOf(second)['uploaded'] === 0, 'the second run uploaded again');
    return {
      seen: 'container and table deleted after the API started',
      outcome: `recreated by the API: exit 0, ${String(want.length)} of ${String(want.length)} stored once, none rejected; health ${await healthOf(server.url)}`,
    };
  } finally {
    await server?.stop();
    await azurite.stop();
  }
});

await rm(root, { recursive: true, force: true });
log('\n| fault | what the user saw | after the fix | ok |');
log('| --- | --- | --- | --- |');
for (const r of results) log(`| ${r.fault} | ${r.seen} | ${r.outcome} | ${r.ok ? 'yes' : 'NO'} |`);
const failed = results.filter((r) => !r.ok).length;
log(
  failed === 0
    ? '\nEvery case ended with each transcript stored exactly once.'
    : `\n${String(failed)} cases failed.`,
);
process.exitCode = failed === 0 ? 0 : 1;
