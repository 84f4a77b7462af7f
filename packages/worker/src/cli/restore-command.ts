import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { ConfigError, coerceError, validateId, validateSha256 } from '@nexus/core';
import { writeImportIndex } from '../openclaw/import-index.ts';
import { commandApi } from '../api-client/command-api.ts';

export const RESTORE_HELP = `Usage: nexus-worker restore --out <dir> [options]

Brings stored transcripts back as files: for each session, the exact bytes of its latest
generation (or of --generation), as <dir>/agents/<agent>/sessions/<session>.jsonl, the layout
OpenClaw keeps them in. Each file is checked against its SHA-256 before it appears. Never
overwrites: a file that is already there with the same bytes is counted as such; one with other
bytes is left alone and reported. Uses the worker config's API, key and host (a worker key reads
its own host; a reader key, with --host, any host it may read).

Options:
  --out <dir>            where to write (created if missing)
  --agent <id>           only this agent (default: every agent of the host)
  --session <id>         only this session (with --agent)
  --generation <sha256>  with --session: this generation instead of the latest
  --from <time>, --to <time>
                         only sessions active in this range (ISO time or YYYY-MM-DD)
  --host <id>            another host than the config's
  --for-openclaw         also write the sessions.json that OpenClaw's own import reads; then stop
                         OpenClaw and run: openclaw doctor --session-sqlite import
                         --session-sqlite-agent <agent> (docs/WORKER.md, "Restore")
  --config <path>        the worker config (default $NEXUS_WORKER_CONFIG or ~/.nexus/worker.json)
  -h, --help             show this help

Exit codes: 0 every file restored (or already there); 1 some could not be (each is named); 2 a
usage or configuration error.
`;

export interface RestoreOptions {
  readonly url: string;
  readonly apiKey: string;
  readonly hostId: string;
  readonly out: string;
  readonly agentId?: string;
  readonly sessionId?: string;
  readonly generation?: string;
  readonly from?: string;
  readonly to?: string;
  /** Also write the index OpenClaw's `doctor --session-sqlite import` reads (`import-index.ts`). */
  readonly forOpenClaw?: boolean;
  readonly logger: Logger;
}

export interface RestoreSummary {
  readonly restored: number;
  readonly alreadyThere: number;
  /** A file with other bytes was in the way: left alone. */
  readonly conflicts: number;
  readonly failed: number;
  readonly bytes: number;
}

interface SessionItem {
  readonly sessionId: string;
  readonly latestSha256: string;
}

/** Restores what the options select; the summary says what happened to each file. */
export async function restoreCommand(options: RestoreOptions): Promise<RestoreSummary> {
  const api = (path: string) => commandApi(options, 'GET', path);
  const host = encodeURIComponent(options.hostId);
  if (options.sessionId !== undefined && options.agentId === undefined)
    throw new ConfigError('--session goes with --agent <id>: say whose session it is.');
  if (options.generation !== undefined && options.sessionId === undefined)
    throw new ConfigError('--generation goes with --session <id>.');
  const agents =
    options.agentId !== undefined
      ? [validateId('agent id', options.agentId)]
      : ((await api(`/v1/hosts/${host}/agents`)) as { agents: { agentId: string }[] }).agents.map(
          (agent) => agent.agentId,
        );

  const totals = { restored: 0, alreadyThere: 0, conflicts: 0, failed: 0, bytes: 0 };
  let done = 0;
  for (const agentId of agents) {
    const folder = join(options.out, 'agents', agentId, 'sessions');
    await mkdir(folder, { recursive: true });
    const placed: string[] = [];
    for await (const session of sessionsOf(api, host, agentId, options)) {
      const file = join(folder, `${session.sessionId}.jsonl`);
      const path = `/v1/hosts/${host}/agents/${encodeURIComponent(agentId)}/sessions/${encodeURIComponent(session.sessionId)}/transcripts/${session.latestSha256}`;
      try {
        const outcome = await download(options, path, file, session.latestSha256);
        if (outcome.kind === 'restored') {
          totals.restored += 1;
          totals.bytes += outcome.bytes;
          placed.push(session.sessionId);
        } else if (outcome.kind === 'already-there') {
          totals.alreadyThere += 1;
          placed.push(session.sessionId);
        } else {
          totals.conflicts += 1;
          options.logger.warn(
            { file },
            `left alone: a different file is already there (its bytes are not generation ${session.latestSha256}); move it and restore again to get the stored one`,
          );
        }
      } catch (caught) {
        totals.failed += 1;
        options.logger.error({ file }, `could not restore: ${coerceError(caught).message}`);
      }
      done += 1;
      if (done % 25 === 0) options.logger.info(`${String(done)} sessions done`);
    }
    if (options.forOpenClaw && placed.length > 0) {
      const index = await writeImportIndex(folder, agentId, placed, Date.now());
      options.logger.info(
        { file: index.file },
        index.isIndex
          ? `wrote ${index.file}; to take these sessions into OpenClaw, stop it and run: openclaw doctor --session-sqlite import --session-sqlite-agent ${agentId}`
          : `a sessions.json was there already: the restored sessions' entries are in ${index.file}; merge them into sessions.json, then run: openclaw doctor --session-sqlite import --session-sqlite-agent ${agentId}`,
      );
    }
  }
  return totals;
}

async function* sessionsOf(
  api: (path: string) => Promise<unknown>,
  host: string,
  agentId: string,
  options: RestoreOptions,
): AsyncGenerator<SessionItem> {
  const agent = encodeURIComponent(agentId);
  if (options.sessionId !== undefined) {
    const sessionId = validateId('session id', options.sessionId);
    const { session, generations } = (await api(
      `/v1/hosts/${host}/agents/${agent}/sessions/${encodeURIComponent(sessionId)}`,
    )) as { session: SessionItem; generations: { sha256: string }[] };
    if (options.generation === undefined) {
      yield session;
      return;
    }
    const wanted = validateSha256(options.generation);
    if (!generations.some((g) => g.sha256 === wanted))
      throw new ConfigError(
        `Session ${sessionId} has no generation ${wanted}; its generations: ${generations.map((g) => g.sha256).join(', ')}.`,
      );
    yield { sessionId, latestSha256: wanted };
    return;
  }
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '1000' });
    if (options.from !== undefined) query.set('from', options.from);
    if (options.to !== undefined) query.set('to', options.to);
    if (cursor !== undefined) query.set('cursor', cursor);
    const page = (await api(`/v1/hosts/${host}/agents/${agent}/sessions?${query.toString()}`)) as {
      sessions: SessionItem[];
      cursor?: string;
    };
    yield* page.sessions;
    cursor = page.cursor;
  } while (cursor !== undefined);
}

type Outcome =
  | { readonly kind: 'restored'; readonly bytes: number }
  | { readonly kind: 'already-there' }
  | { readonly kind: 'conflict' };

/**
 * Streams one generation into a temp file beside `file`, hashing as it goes; only bytes that hash
 * to `sha256` become `file`, by a hard link that fails when `file` exists (never overwriting).
 */
async function download(
  options: RestoreOptions,
  path: string,
  file: string,
  sha256: string,
): Promise<Outcome> {
  const response = await fetch(`${options.url.replace(/\/+$/, '')}${path}`, {
    headers: { authorization: `Bearer ${options.apiKey}` },
  });
  if (!response.ok || response.body === null)
    throw new Error(
      `the API answered ${String(response.status)}: ${(await response.text()).slice(0, 300)}`,
    );
  const temp = `${file}.restoring-${randomBytes(4).toString('hex')}`;
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    await pipeline(
      Readable.fromWeb(response.body),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          bytes += chunk.byteLength;
          yield chunk;
        }
      },
      createWriteStream(temp, { flags: 'wx', mode: 0o600 }),
    );
    const actual = hash.digest('hex');
    if (actual !== sha256)
      throw new Error(`the bytes received hash to ${actual}, not ${sha256}; nothing was written`);
    try {
      await placeExclusively(temp, file);
      return { kind: 'restored', bytes };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return (await hashOf(file)) === sha256 ? { kind: 'already-there' } : { kind: 'conflict' };
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/**
 * `temp` becomes `file` only if no `file` exists (EEXIST otherwise): a hard link, or on a file
 * system without them (FAT, some network shares) an exclusive copy.
 */
async function placeExclusively(temp: string, file: string): Promise<void> {
  try {
    await link(temp, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    await copyFile(temp, file, constants.COPYFILE_EXCL);
  }
}

async function hashOf(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
