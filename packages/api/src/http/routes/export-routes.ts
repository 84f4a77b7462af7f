import type { Storage } from '@nexus/core';
import type { SecretMasker } from '../../content/secret-mask.ts';
import { markdownArchive } from '../../export/markdown-archive.ts';
import { exportQueryOf, exportSession } from '../../export/session-export.ts';
import { parseFormat } from '../../export/export-header.ts';
import { authorize } from '../../auth/access.ts';
import { ValidationError } from '@nexus/core';
import type { NexusApp, NexusContext } from '../app-env.ts';
import { checkRange, parseTime } from '../query-params.ts';
import { route } from '../route-table.ts';
import { authorizedScope, hostParam } from '../scope-params.ts';

export interface ExportRouteDeps {
  readonly storage: Storage;
  readonly masker: SecretMasker;
  readonly defaultHostId: string;
  readonly now: () => Date;
}

/**
 * Exports, masked: one session as Markdown, JSON or HTML; an agent's or a host's sessions in a
 * time range as a tar of Markdown files. The raw transcript (`.../transcripts/{sha256}`) is the
 * only unmasked way out.
 */
export function exportRoutes(app: NexusApp, deps: ExportRouteDeps): void {
  const { storage, masker, defaultHostId, now } = deps;

  route(app, '/v1/hosts/:hostId/agents/:agentId/sessions/:sessionId/export', {
    GET: (c) =>
      exportSession(
        storage,
        masker,
        authorizedScope(c, defaultHostId, 'read', () => 'exports a session'),
        c.req.param('sessionId') ?? '',
        exportQueryOf((name) => c.req.query(name)),
        now(),
      ),
  });

  const archive = (c: NexusContext, target: { hostId: string; agentId?: string }) => {
    if (parseFormat(c.req.query('format')) !== 'markdown')
      throw new ValidationError(
        'invalid_format',
        'An archive of sessions is Markdown files only; export one session for JSON or HTML.',
      );
    const fromMs = parseTime('from', c.req.query('from'));
    const toMs = parseTime('to', c.req.query('to'));
    checkRange('from', fromMs, 'to', toMs);
    const chunks = markdownArchive(
      storage,
      masker,
      target,
      {
        ...(fromMs === undefined ? {} : { fromMs }),
        ...(toMs === undefined ? {} : { toMs }),
      },
      now(),
    );
    return new Response(ReadableStream.from(chunks), {
      headers: {
        'content-type': 'application/x-tar',
        'content-disposition': `attachment; filename="${[target.hostId, target.agentId].filter(Boolean).join('-')}-markdown.tar"`,
        'cache-control': 'no-store',
      },
    });
  };
  route(app, '/v1/hosts/:hostId/agents/:agentId/export', {
    GET: (c) => {
      const scope = authorizedScope(c, defaultHostId, 'read', () => 'exports sessions');
      return archive(c, scope);
    },
  });
  route(app, '/v1/hosts/:hostId/export', {
    GET: (c) => {
      const hostId = hostParam(c, defaultHostId);
      authorize(c.get('principal'), {
        kind: 'read',
        hostId,
        what: `exports host ${hostId}'s sessions`,
      });
      return archive(c, { hostId });
    },
  });
}
