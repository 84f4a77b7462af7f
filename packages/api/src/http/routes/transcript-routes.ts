import type { Context } from 'hono';
import { ValidationError, type SessionContext, type Storage } from '@nexus/core';
import { AgentDirectory } from '../../transcripts/agent-directory.ts';
import { ingestTranscript, type GenerationToIndex } from '../../transcripts/ingest-transcript.ts';
import { openTranscript } from '../../transcripts/session-queries.ts';
import { parseContentEncoding } from '../../transcripts/verified-transcript.ts';
import type { NexusApp, NexusContext } from '../app-env.ts';
import { prefersMinimal } from '../prefer.ts';
import { route } from '../route-table.ts';
import { parseContentLength, streamOf } from './request-body.ts';
import { authorizedScope } from '../scope-params.ts';

export interface TranscriptRouteDeps {
  readonly storage: Storage;
  readonly now: () => Date;
  readonly maxTranscriptBytes: number;
  readonly spoolDir: string;
  readonly defaultHostId: string;
  /** Told after each stored generation (the dashboard's session list reads again). */
  readonly onStored?: () => void;
  /** Told of each generation about to be recorded (the search index queues it). */
  readonly onRecording?: (generation: GenerationToIndex) => Promise<() => void>;
}

/** Under a host, and (deprecated, for the default host) without one. */
const PATHS = [
  '/v1/hosts/:hostId/agents/:agentId/sessions/:sessionId/transcripts/:sha256',
  '/v1/agents/:agentId/sessions/:sessionId/transcripts/:sha256',
];
/**
 * A body announced at up to this many bytes is read whole: most transcripts are a few dozen KB
 * compressed, and a web stream, a decompression stream and their promise chains cost more than the
 * bytes (bench B1). Node holds the sender to the announced length.
 */
const SMALL_UPLOAD_BYTES = 1024 * 1024;
const CONTEXT_FIELDS = [
  'sessionKey',
  'channel',
  'chatType',
  'provider',
  'model',
  'status',
  'previousSessionId',
  'archiveReason',
  'supersededBy',
] as const;

/**
 * `PUT` stores a transcript under its content hash (idempotent: the same bytes again answer 200
 * `already_present`); `GET` streams a stored generation back.
 */
export function transcriptRoutes(app: NexusApp, deps: TranscriptRouteDeps): void {
  const ingestDeps = { ...deps, agents: new AgentDirectory(deps.storage) };
  const handlers = {
    PUT: async (c: NexusContext) => {
      const scope = authorizedScope(
        c,
        deps.defaultHostId,
        'act',
        ({ hostId }) => `uploads a transcript for host ${hostId}`,
      );
      const contentLength = parseContentLength(c.req.header('content-length'));
      const result = await ingestTranscript(ingestDeps, {
        ...scope,
        sessionId: c.req.param('sessionId') ?? '',
        sha256: c.req.param('sha256') ?? '',
        kind: c.req.query('kind') ?? 'live',
        fileName: requiredQuery(c, 'fileName'),
        encoding: parseContentEncoding(c.req.header('content-encoding')),
        contentLength,
        context: parseContext(c),
        ...optionalQuery(c, 'base'),
        ...optionalQuery(c, 'origin'),
        body:
          contentLength !== undefined && contentLength <= SMALL_UPLOAD_BYTES
            ? new Uint8Array(await c.req.arrayBuffer())
            : streamOf(c),
      });
      if (result.status === 'created') deps.onStored?.();
      const status = result.status === 'created' ? 201 : 200;
      // The worker asks for the status alone: the generation and session records are 1.7 KB of
      // each answer, 5% of what crosses a home uplink for prose archives (bench B1w).
      if (prefersMinimal(c.req.header('prefer'))) {
        c.header('Preference-Applied', 'return=minimal');
        return c.json({ status: result.status }, status);
      }
      return c.json(result, status);
    },
    GET: async (c: NexusContext) => {
      const scope = authorizedScope(
        c,
        deps.defaultHostId,
        'read',
        ({ hostId }) => `downloads a transcript of host ${hostId}`,
      );
      const { generation, bytes, body } = await openTranscript(
        deps.storage,
        scope,
        c.req.param('sessionId') ?? '',
        c.req.param('sha256') ?? '',
      );
      return new Response(ReadableStream.from(body), {
        headers: {
          'content-type': 'application/x-ndjson; charset=utf-8',
          'content-length': String(bytes),
          etag: `"${generation.sha256}"`,
          'content-disposition': `attachment; filename="${downloadName(generation.fileName)}"`,
          'cache-control': 'private, max-age=31536000, immutable',
        },
      });
    },
  };
  for (const path of PATHS) route(app, path, handlers);
}

/** The stored bytes are the uncompressed JSONL: a `.zst` or `.gz` archive's name loses that suffix. */
function downloadName(fileName: string): string {
  return fileName.replace(/\.(zst|gz)$/, '');
}

function requiredQuery(c: Context, name: string): string {
  const value = c.req.query(name);
  if (value === undefined || value === '') {
    throw new ValidationError(
      `missing_${name}`,
      `The query parameter ${name} is required; add ?${name}=<the transcript's file name>.`,
    );
  }
  return value;
}

function optionalQuery(c: Context, name: string): Record<string, string> {
  const value = c.req.query(name);
  return value === undefined ? {} : { [name]: value };
}

/** Optional context from OpenClaw's database, as query parameters of at most 256 printable characters. */
function parseContext(c: Context): SessionContext {
  const context: Record<string, string> = {};
  for (const field of CONTEXT_FIELDS) {
    const value = c.req.query(field);
    if (value === undefined) continue;
    // eslint-disable-next-line no-control-regex -- control characters are what is refused here
    if (value.length > 256 || /[\u0000-\u001f\u007f]/.test(value)) {
      throw new ValidationError(
        'invalid_context',
        `${field} must be at most 256 printable characters.`,
      );
    }
    context[field] = value;
  }
  return context;
}
