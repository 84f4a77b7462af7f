import { createHash } from 'node:crypto';
import { githubDelivery } from './github-delivery.ts';

/**
 * Data to look at: two hosts, three agents, sessions of several models, channels and states
 * (live, reset, deleted), a conversation with everything a session view must show (thinking, tool
 * calls with results and an error, an image, a compaction, a model change, an aborted turn,
 * Markdown), a hostile transcript (script tags, `onerror=`, `javascript:` links, one 2 MB line),
 * webhook endpoints with items pending, delivered and dead. All stored through the API over HTTP,
 * as a worker and a sender would. For the dashboard's tests, its screenshots and `npm run demo`.
 */
export interface SeedOptions {
  /** The API's base URL and an admin key. */
  readonly url: string;
  readonly key: string;
  /** The day the newest session is on (default: today); older ones spread over 40 days before. */
  readonly now?: Date;
  /** Plain sessions per agent besides the special ones (default 12). */
  readonly sessionsPerAgent?: number;
}

export interface SeedResult {
  readonly hosts: readonly string[];
  /** The conversation with every kind of entry: host, agent, session id, title. */
  readonly rich: SeededSession;
  /** The transcript full of markup and a huge line. */
  readonly hostile: SeededSession;
  readonly sessions: number;
  readonly endpoint: { readonly id: string; readonly secret: string };
  readonly webhooks: {
    readonly pending: number;
    readonly delivered: number;
    readonly dead: number;
  };
}

export interface SeededSession {
  readonly hostId: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly title: string;
  /** Ids of notable entries, for permalinks. */
  readonly entries: Readonly<Record<string, string>>;
}

/** A token a tool printed into the rich session (synthetic, of Google's OAuth shape). */
export const CALENDAR_TOKEN = `ya29.${'a0AfB_byC7'.repeat(6)}`;

/** A 4×4 PNG, red: an image a user sent. */
const TINY_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGO4Y2MERwzEcQAjMhShdI70QAAAAABJRU5ErkJggg==';

const MODELS = [
  { provider: 'anthropic', model: 'claude-sonnet-4-5', input: 3e-6, output: 15e-6 },
  { provider: 'openai', model: 'gpt-5', input: 1.25e-6, output: 10e-6 },
  { provider: 'google', model: 'gemini-2.5-pro', input: 1.25e-6, output: 10e-6 },
] as const;
const CHANNELS = ['telegram', 'whatsapp', 'discord', 'webchat'] as const;
const TOPICS = [
  "What's on my calendar today?",
  'Summarize the unread emails from this morning',
  'Plan a weekend trip to Lisbon with a budget of 600 euros',
  'Why is the nightly backup script failing?',
  'Draft a reply to the landlord about the broken heater',
  'Café au lait recipe for a crowd of twelve',
  'Compare the two job offers I forwarded yesterday',
  'Find a time next week for a call with Priya and Jonas',
  'Translate this letter into German, formally',
  'Track my running mileage for November',
  '会议记录: 整理今天的会议要点',
  'Fix the flaky test in the payments service',
  'Remind me to renew my passport in March',
  'Explain the electricity bill: why did it double?',
];

/** Stores the whole sample through the API; returns what tests need to find it again. */
export async function seedDashboard(options: SeedOptions): Promise<SeedResult> {
  const api = new SeedClient(options.url, options.key);
  const now = options.now ?? new Date();
  const perAgent = options.sessionsPerAgent ?? 12;
  const day = 86_400_000;
  const hosts = [
    { hostId: 'laptop', name: "Ana's laptop", agents: ['main', 'work'] },
    { hostId: 'server', name: 'Home server', agents: ['main'] },
  ];
  let sessions = 0;
  let counter = 0;
  for (const host of hosts) {
    await api.json('PUT', `/v1/hosts/${host.hostId}`, { name: host.name, workerVersion: '0.5.0' });
    for (const agentId of host.agents) {
      for (let i = 0; i < perAgent; i += 1) {
        counter += 1;
        const model = MODELS[counter % MODELS.length] ?? MODELS[0];
        const startMs = now.getTime() - ((counter * 37) % 40) * day - (counter % 11) * 3_600_000;
        const sessionId = uuidOf(`${host.hostId}/${agentId}/${i}`);
        const text = conversation({
          sessionId,
          startMs,
          model,
          title: TOPICS[counter % TOPICS.length] ?? 'Hello',
          turns: 2 + (counter % 9),
        });
        const state = counter % 7 === 0 ? 'deleted' : counter % 5 === 0 ? 'reset' : 'live';
        await api.transcript(host.hostId, agentId, sessionId, text, {
          kind: state === 'live' ? 'live' : state,
          fileName:
            state === 'live'
              ? `${sessionId}.jsonl`
              : `${sessionId}.jsonl.${state}.${new Date(startMs).toISOString().replace(/:/g, '-')}`,
          channel: CHANNELS[counter % CHANNELS.length] ?? 'webchat',
          ...(state === 'live' ? { origin: 'snapshot' } : {}),
        });
        sessions += 1;
      }
    }
    await api.json('POST', `/v1/hosts/${host.hostId}/runs`, {
      jobId: 'session-upload',
      type: 'session_upload',
      startedAt: new Date(now.getTime() - 60_000).toISOString(),
      finishedAt: new Date(now.getTime() - 55_000).toISOString(),
      success: host.hostId === 'laptop',
      message:
        host.hostId === 'laptop'
          ? `uploaded ${perAgent * host.agents.length} transcripts`
          : 'could not read agent main: disk full (ENOSPC)',
      counts: { uploaded: perAgent * host.agents.length, left: 0 },
      errors: [],
      errorCount: host.hostId === 'laptop' ? 0 : 1,
    });
  }

  const rich = richSession(now);
  // A snapshot of the session half-way, then the whole: two generations to switch between.
  const earlier = `${rich.text.split('\n').slice(0, 9).join('\n')}\n`;
  for (const text of [earlier, rich.text])
    await api.transcript('laptop', 'main', rich.session.sessionId, text, {
      kind: 'live',
      fileName: `${rich.session.sessionId}.jsonl`,
      channel: 'telegram',
      origin: 'snapshot',
    });
  const hostile = hostileSession(now);
  await api.transcript('laptop', 'main', hostile.session.sessionId, hostile.text, {
    kind: 'live',
    fileName: `${hostile.session.sessionId}.jsonl`,
    channel: '<b>web</b>chat',
    origin: 'snapshot',
  });
  sessions += 2;

  const webhooks = await seedWebhooks(api);
  return {
    hosts: hosts.map((h) => h.hostId),
    rich: rich.session,
    hostile: hostile.session,
    sessions,
    ...webhooks,
  };
}

async function seedWebhooks(api: SeedClient): Promise<Pick<SeedResult, 'endpoint' | 'webhooks'>> {
  const created = (await api.json('POST', '/v1/endpoints', {
    id: 'github-main',
    hostId: 'laptop',
    agentId: 'main',
    provider: 'github',
  })) as { secrets: string[] };
  const secret = created.secrets[0] ?? '';
  await api.json('POST', '/v1/endpoints', {
    id: 'stripe-billing',
    hostId: 'server',
    agentId: 'main',
    provider: 'stripe',
    secrets: ['whsec_seedseedseedseed'],
  });
  const events = ['push', 'pull_request', 'issues', 'push', 'workflow_run', 'issue_comment'];
  for (const [i, event] of events.entries()) {
    const { body, headers } = githubDelivery(
      secret,
      event,
      {
        action: 'opened',
        repository: { full_name: 'ana/dotfiles' },
        sender: { login: 'octocat' },
        note: i === 2 ? '<img src=x onerror=alert(1)>' : `delivery ${i}`,
      },
      uuidOf(`delivery-${i}`),
    );
    const response = await fetch(`${api.url}/hooks/github-main`, { method: 'POST', body, headers });
    if (!response.ok) throw new Error(`webhook ${i}: ${response.status} ${await response.text()}`);
  }
  // Two delivered, one dead (the gateway refused it), the rest waiting.
  const claimed = (await api.json('POST', '/v1/webhooks/claim', {
    hostId: 'laptop',
    agents: ['main'],
    max: 3,
  })) as { items: { id: string; leaseId: string }[] };
  const outcomes = ['delivered', 'delivered', 'rejected'] as const;
  await api.json('POST', '/v1/webhooks/settle', {
    results: claimed.items.map((item, i) => ({
      hostId: 'laptop',
      agentId: 'main',
      id: item.id,
      leaseId: item.leaseId,
      outcome: outcomes[i] ?? 'delivered',
      ...(outcomes[i] === 'rejected'
        ? { reason: 'gateway answered 400: message must be a string', status: 400 }
        : { status: 200 }),
    })),
  });
  return {
    endpoint: { id: 'github-main', secret },
    webhooks: { pending: events.length - 3, delivered: 2, dead: 1 },
  };
}

class SeedClient {
  readonly url: string;
  private readonly key: string;

  constructor(url: string, key: string) {
    this.url = url.replace(/\/$/, '');
    this.key = key;
  }

  async json(method: string, path: string, body: unknown): Promise<unknown> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${this.key}`, 'content-type': 'application/json' },
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }

  async transcript(
    hostId: string,
    agentId: string,
    sessionId: string,
    text: string,
    query: Record<string, string>,
  ): Promise<void> {
    const sha256 = createHash('sha256').update(text).digest('hex');
    const params = new URLSearchParams(query).toString();
    const response = await fetch(
      `${this.url}/v1/hosts/${hostId}/agents/${agentId}/sessions/${sessionId}/transcripts/${sha256}?${params}`,
      { method: 'PUT', body: text, headers: { authorization: `Bearer ${this.key}` } },
    );
    if (!response.ok)
      throw new Error(`upload of ${sessionId}: ${response.status} ${await response.text()}`);
  }
}

/** A stable UUID-shaped id from a name, so seeded sessions keep their ids across runs. */
export function uuidOf(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

type Model = (typeof MODELS)[number];

/** A plain conversation: a question, some answers, a tool call now and then. */
function conversation(spec: {
  sessionId: string;
  startMs: number;
  model: Model;
  title: string;
  turns: number;
}): string {
  const t = new TranscriptWriter(spec.sessionId, spec.startMs);
  t.entry({ type: 'model_change', provider: spec.model.provider, modelId: spec.model.model });
  t.user(spec.title);
  for (let turn = 0; turn < spec.turns; turn += 1) {
    if (turn % 3 === 1) {
      t.assistant(
        spec.model,
        [
          {
            type: 'toolCall',
            id: `call_${turn}`,
            name: 'exec',
            arguments: { command: 'ls -la ~/notes' },
          },
        ],
        'toolUse',
      );
      t.toolResult(`call_${turn}`, 'exec', `total ${turn * 8}\nnotes.md\ntodo.md`, false);
    }
    t.assistant(spec.model, [{ type: 'text', text: `Here is what I found (step ${turn + 1}).` }]);
    if (turn + 1 < spec.turns) t.user(`And then? (${turn + 1})`);
  }
  return t.text();
}

function richSession(now: Date): { text: string; session: SeededSession } {
  const sessionId = uuidOf('rich-session');
  const t = new TranscriptWriter(sessionId, now.getTime() - 3 * 3_600_000);
  const sonnet = MODELS[0];
  const gpt = MODELS[1];
  t.entry({ type: 'model_change', provider: sonnet.provider, modelId: sonnet.model });
  const question = t.user([
    { type: 'text', text: 'Plan my Tuesday: calendar, weather, and the train to Porto.' },
    { type: 'image', data: TINY_PNG, mimeType: 'image/png' },
  ]);
  t.assistant(
    sonnet,
    [
      {
        type: 'thinking',
        thinking: 'The user wants a plan. First read the calendar, then the weather.',
      },
      {
        type: 'toolCall',
        id: 'toolu_cal',
        name: 'exec',
        arguments: { command: 'gcalcli agenda tuesday' },
      },
    ],
    'toolUse',
  );
  // The calendar tool echoes its access token: shown and exported masked, kept exact in storage.
  t.toolResult(
    'toolu_cal',
    'exec',
    `09:00 Standup\n13:00 Lunch with Priya\n16:30 Dentist\n(authorised with ${CALENDAR_TOKEN})`,
    false,
  );
  t.assistant(
    sonnet,
    [
      {
        type: 'toolCall',
        id: 'toolu_weather',
        name: 'web_fetch',
        arguments: { url: 'https://wttr.in/Lisbon?format=3' },
      },
    ],
    'toolUse',
  );
  const failedTool = t.toolResult(
    'toolu_weather',
    'web_fetch',
    'fetch failed: ETIMEDOUT after 30 s',
    true,
  );
  const answer = t.assistant(sonnet, [
    {
      type: 'text',
      text: '## Tuesday\n\n- **09:00** Standup\n- **13:00** Lunch with Priya\n- **16:30** Dentist\n\nThe weather service timed out; trains to Porto leave at `07:09` and `08:39` ([CP timetable](https://www.cp.pt)).',
    },
  ]);
  t.entry({
    type: 'compaction',
    summary: 'Ana asked for a Tuesday plan; calendar read, weather failed, trains listed.',
    firstKeptEntryId: answer,
    tokensBefore: 48_210,
  });
  t.entry({ type: 'model_change', provider: gpt.provider, modelId: gpt.model });
  t.user('Book the 08:39 then.');
  const aborted = t.assistant(gpt, [{ type: 'text', text: 'Opening the booking page' }], 'aborted');
  t.user('Never mind, I will do it myself.');
  t.assistant(gpt, [{ type: 'text', text: 'Understood. Anything else for Tuesday?' }]);
  return {
    text: t.text(),
    session: {
      hostId: 'laptop',
      agentId: 'main',
      sessionId,
      title: 'Plan my Tuesday: calendar, weather, and the train to Porto.',
      entries: { question, failedTool, answer, aborted },
    },
  };
}

function hostileSession(now: Date): { text: string; session: SeededSession } {
  const sessionId = uuidOf('hostile-session');
  const t = new TranscriptWriter(sessionId, now.getTime() - 2 * 3_600_000);
  const model = MODELS[0];
  const title = '<script>window.__pwned = 1</script> hello';
  t.user(title);
  const markup = t.assistant(
    model,
    [
      {
        type: 'text',
        text: 'Try <img src=x onerror="window.__pwned=2"> and [this link](javascript:window.__pwned=3) and <a href="javascript:window.__pwned=4">that</a>.\n\n<iframe src="https://example.com"></iframe>',
      },
      {
        type: 'toolCall',
        id: 'toolu_x',
        name: '<b>exec</b>',
        arguments: { command: '"><svg onload=window.__pwned=5>' },
      },
    ],
    'toolUse',
  );
  t.toolResult(
    'toolu_x',
    '<b>exec</b>',
    '<style>body{display:none}</style><script>window.__pwned=6</script>',
    false,
  );
  const huge = t.assistant(model, [
    { type: 'text', text: `${'A'.repeat(2 * 1024 * 1024)}<script>window.__pwned=7</script>` },
  ]);
  t.user([{ type: 'image', data: 'PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+', mimeType: 'image/svg+xml' }]);
  return {
    text: t.text(),
    session: { hostId: 'laptop', agentId: 'main', sessionId, title, entries: { markup, huge } },
  };
}

/** Writes transcript lines as OpenClaw does: header, then entries chained by parentId. */
class TranscriptWriter {
  private readonly lines: string[] = [];
  private clock: number;
  private parent: string | null = null;
  private count = 0;
  private readonly prefix: string;

  constructor(sessionId: string, startMs: number) {
    this.clock = startMs;
    this.prefix = sessionId.slice(0, 4);
    this.lines.push(
      JSON.stringify({
        type: 'session',
        version: 3,
        id: sessionId,
        timestamp: new Date(startMs).toISOString(),
        cwd: '/home/ana/.openclaw/workspace',
      }),
    );
  }

  entry(body: Record<string, unknown>): string {
    this.count += 1;
    const id = `${this.prefix}${this.count.toString(16).padStart(4, '0')}`;
    this.clock += 20_000;
    this.lines.push(
      JSON.stringify({
        ...body,
        id,
        parentId: this.parent,
        timestamp: new Date(this.clock).toISOString(),
      }),
    );
    this.parent = id;
    return id;
  }

  user(content: string | unknown[]): string {
    return this.entry({
      type: 'message',
      message: { role: 'user', content, timestamp: this.clock },
    });
  }

  assistant(model: Model, content: unknown[], stopReason = 'stop'): string {
    const input = 1200 + this.count * 40;
    const output = 180 + (this.count % 9) * 20;
    const cost = { input: input * model.input, output: output * model.output };
    return this.entry({
      type: 'message',
      message: {
        role: 'assistant',
        content,
        api: 'messages',
        provider: model.provider,
        model: model.model,
        usage: {
          input,
          output,
          cacheRead: 0,
          cacheWrite: 0,
          totalTokens: input + output,
          cost: { ...cost, cacheRead: 0, cacheWrite: 0, total: cost.input + cost.output },
        },
        stopReason,
        timestamp: this.clock,
      },
    });
  }

  toolResult(toolCallId: string, toolName: string, text: string, isError: boolean): string {
    return this.entry({
      type: 'message',
      message: {
        role: 'toolResult',
        toolCallId,
        toolName,
        content: [{ type: 'text', text }],
        isError,
        timestamp: this.clock,
      },
    });
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}
