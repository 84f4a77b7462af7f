import { setTimeout as sleep } from 'node:timers/promises';
import { AdminClient, CONNECTION_HELP, parseAdminArgs, printAnswer } from './admin-client.ts';

export const SEARCH_HELP = `Usage: nexus search <words...> [options]
       nexus search --status
       nexus search --rebuild

Searches the text of every stored transcript this key may read, best matches first, each with a
snippet (secrets masked) and the address of that message in the dashboard. Exits 1 when nothing
matches.

Syntax: words (all must appear, any order; case and accents ignored), "a phrase" in quotes (quote
it for the shell too: '"disk full"'), prefix* with a star. Chinese, Japanese and Korean words are
found inside longer text (会议, 会議, 회의).

Options:
  --host <id>             only this host
  --agent <id>            only this agent
  --session <id>          only this session
  --role <list>           user, assistant and/or tool (comma-separated)
  --tools                 also tool calls and their results (left out by default)
  --from <time|day>       messages at or after (e.g. 2026-11-01)
  --to <time|day>         messages before
  --limit <n>             results (default 20, up to 100)
  --status                the index: messages, generations waiting, size, a rebuild's progress
  --rebuild               empty the index and build it again from storage (admin key); waits,
                          showing progress, until it is done

${CONNECTION_HELP}

Docs: docs/API.md (Search)
`;

interface SearchAnswer {
  results: {
    hostId: string;
    agentId: string;
    sessionId: string;
    role: string;
    time: string | null;
    snippet: { text: string; marks: [number, number][] };
    permalink: string;
  }[];
  order: 'relevance' | 'newest';
  indexing: { pending: number };
}

interface IndexStatus {
  messages: number;
  pending: number;
  bytes: number;
  rebuild: { sessions: number; generations: number; finishedAt: string | null } | null;
}

export async function searchCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values, positionals } = parseAdminArgs(argv, {
    host: { type: 'string' },
    agent: { type: 'string' },
    session: { type: 'string' },
    role: { type: 'string' },
    tools: { type: 'boolean' },
    from: { type: 'string' },
    to: { type: 'string' },
    limit: { type: 'string' },
    status: { type: 'boolean' },
    rebuild: { type: 'boolean' },
  });
  if (values.help || (positionals.length === 0 && !values.status && !values.rebuild)) {
    process.stdout.write(SEARCH_HELP);
    return values.help ? 0 : 2;
  }
  const client = new AdminClient(values, env);
  if (values.rebuild) return rebuild(client);
  if (values.status) {
    const status = await client.request<IndexStatus>('GET', '/v1/search/status');
    return printAnswer(values.json, status, () => describeStatus(status));
  }
  const query = new URLSearchParams({ q: positionals.join(' ') });
  const params: Record<string, string | boolean | undefined> = {
    hostId: values.host,
    agentId: values.agent,
    sessionId: values.session,
    role: values.role,
    from: values.from,
    to: values.to,
    limit: values.limit,
  };
  for (const [key, value] of Object.entries(params))
    if (typeof value === 'string') query.set(key, value);
  if (values.tools) query.set('tools', '1');
  const answer = await client.request<SearchAnswer>('GET', `/v1/search?${query.toString()}`);
  const bold = process.stdout.isTTY
    ? (t: string) => `\u001b[1m${t}\u001b[22m`
    : (t: string) => `[${t}]`;
  printAnswer(values.json, answer, () => {
    const lines = answer.results.map((r) =>
      [
        `${r.hostId}/${r.agentId}  ${r.sessionId}  ${r.time ?? 'no time'}  ${r.role}`,
        `  ${marked(r.snippet, bold)}`,
        `  ${client.url}${r.permalink}`,
      ].join('\n'),
    );
    const pending =
      answer.indexing.pending > 0
        ? `\n(${answer.indexing.pending} stored generation${answer.indexing.pending === 1 ? '' : 's'} not indexed yet)`
        : '';
    return `${lines.length === 0 ? 'No message matches.' : lines.join('\n\n')}${pending}`;
  });
  return answer.results.length === 0 ? 1 : 0;
}

/** A snippet with its marks made visible: bold in a terminal, else in brackets. */
export function marked(
  snippet: { text: string; marks: [number, number][] },
  mark: (t: string) => string,
): string {
  let out = '';
  let at = 0;
  for (const [from, to] of snippet.marks) {
    out += snippet.text.slice(at, from) + mark(snippet.text.slice(from, to));
    at = to;
  }
  return out + snippet.text.slice(at);
}

function describeStatus(status: IndexStatus): string {
  const size = `${(status.bytes / 1024 / 1024).toFixed(1)} MB`;
  const rebuild =
    status.rebuild === null
      ? ''
      : status.rebuild.finishedAt === null
        ? `; rebuilding: ${status.rebuild.sessions} sessions listed so far`
        : `; last rebuild queued ${status.rebuild.generations} generations of ${status.rebuild.sessions} sessions`;
  return `${status.messages} messages indexed, ${status.pending} generations waiting, ${size}${rebuild}`;
}

async function rebuild(client: AdminClient): Promise<number> {
  await client.request('POST', '/v1/search/rebuild');
  const tty = process.stderr.isTTY;
  for (;;) {
    const status = await client.request<IndexStatus>('GET', '/v1/search/status');
    const line = `search index: ${describeStatus(status)}`;
    process.stderr.write(tty ? `\r\u001b[2K${line}` : `${line}\n`);
    if (status.pending === 0 && status.rebuild?.finishedAt != null) {
      process.stderr.write(tty ? '\n' : '');
      process.stdout.write(`Rebuilt: ${status.messages} messages indexed.\n`);
      return 0;
    }
    await sleep(1000);
  }
}
