import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '@nexus/core';
import { AdminClient, CONNECTION_HELP, parseAdminArgs, resolveHost } from './admin-client.ts';

export const EXPORT_HELP = `Usage: nexus export <session-id> [options]
       nexus export --all [--agent <id>] [--from <day>] [--to <day>] [options]

Exports one session as Markdown (default), JSON or a self-contained HTML page; or, with --all, a
host's (or one agent's) sessions in a time range as a tar archive of Markdown files. Secrets are
masked in every export; the raw transcript is the only exact copy (GET .../transcripts/{sha256}).

Options:
  --host <id>             the host (default: the only one this Nexus serves)
  --agent <id>            the agent (default: main; with --all, every agent)
  --format <f>            markdown, json or html (one session)
  --generation <sha256>   that generation instead of the latest
  --thinking              include the model's thinking (left out by default)
  --no-details            leave out each reply's model, tokens and cost
  --all                   every session (of --agent, or of the host) as Markdown files in a tar
  --from <time|day>       with --all: sessions active at or after
  --to <time|day>         with --all: sessions active before
  -o, --output <file>     where to write (default: the name the API gives, in this folder;
                          "-" for standard output)

${CONNECTION_HELP}

Docs: docs/API.md (Export)
`;

export async function exportCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values, positionals } = parseAdminArgs(argv, {
    host: { type: 'string' },
    agent: { type: 'string' },
    format: { type: 'string' },
    generation: { type: 'string' },
    thinking: { type: 'boolean' },
    'no-details': { type: 'boolean' },
    all: { type: 'boolean' },
    from: { type: 'string' },
    to: { type: 'string' },
    output: { type: 'string', short: 'o' },
  });
  if (values.help || (positionals.length === 0 && !values.all)) {
    process.stdout.write(EXPORT_HELP);
    return values.help ? 0 : 2;
  }
  if (values.all && positionals.length > 0)
    throw new UsageError('give a session id or --all, not both; see nexus export --help.');
  if (positionals.length > 1)
    throw new UsageError(
      `export takes one session id; got ${positionals.length}. See nexus export --help.`,
    );
  const client = new AdminClient(values, env);
  const host = encodeURIComponent(await resolveHost(client, values.host));
  const query = new URLSearchParams();
  let path: string;
  if (values.all) {
    if (values.from !== undefined) query.set('from', values.from);
    if (values.to !== undefined) query.set('to', values.to);
    path =
      values.agent === undefined
        ? `/v1/hosts/${host}/export`
        : `/v1/hosts/${host}/agents/${encodeURIComponent(values.agent)}/export`;
  } else {
    const agent = encodeURIComponent(values.agent ?? 'main');
    if (values.format !== undefined) query.set('format', values.format);
    if (values.generation !== undefined) query.set('g', values.generation);
    if (values.thinking) query.set('thinking', '1');
    if (values['no-details']) query.set('details', '0');
    path = `/v1/hosts/${host}/agents/${agent}/sessions/${encodeURIComponent(positionals[0] ?? '')}/export`;
  }
  const response = await client.open(`${path}${query.size > 0 ? `?${query.toString()}` : ''}`);
  const output = values.output ?? fileNameOf(response) ?? 'nexus-export';
  const body = Readable.fromWeb(
    response.body as import('node:stream/web').ReadableStream<Uint8Array>,
  );
  if (output === '-') {
    await pipeline(body, process.stdout, { end: false });
    return 0;
  }
  // Never over an existing file ("wx"): an export is not worth someone's other file.
  const file = createWriteStream(output, { flags: 'wx' });
  const opened = await new Promise<Error | undefined>((resolve) => {
    file.once('open', () => {
      resolve(undefined);
    });
    file.once('error', resolve);
  });
  if (opened !== undefined) {
    body.destroy();
    if ((opened as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UsageError(`${output} exists already; remove it, or name another file with -o.`);
    throw opened;
  }
  await pipeline(body, file);
  process.stderr.write(`Wrote ${output}\n`);
  return 0;
}

/** The file name of a download's `Content-Disposition`, if it is a plain one. */
function fileNameOf(response: Response): string | undefined {
  const name = /filename="([^"/\\]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1];
  return name === undefined || name.startsWith('.') ? undefined : name;
}
