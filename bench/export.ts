import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { spawnServer } from '@nexus/api/testing';
import { KEY, MB, mb, type BenchContext } from './context.ts';
import { largeTranscriptChunks } from './data.ts';
import { rssOf, sampleRss } from './rss.ts';

const SESSION = 'b9-export-000-4000-8000-000000000000';

/**
 * B9: one large transcript (50 MB: tool results and replies, 50,000 entries) exported as
 * Markdown, JSON and HTML from a running API, against downloading its raw bytes (the floor: the
 * same blob read and sent). Export is streamed a turn at a time, so the API's memory must not
 * grow with the transcript.
 */
export async function benchExport(ctx: BenchContext): Promise<void> {
  const { quick, rows, raw, log, root } = ctx;
  const size = (quick ? 10 : 50) * MB;
  const server = await spawnServer(join(root, 'b9-api'), {
    NEXUS_API_KEYS: KEY,
    NEXUS_SEARCH: 'off',
  });
  try {
    const hash = createHash('sha256');
    let bytes = 0;
    for (const chunk of largeTranscriptChunks(SESSION, size)) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    const sha = hash.digest('hex');
    const base = `${server.url}/v1/hosts/bench/agents/main/sessions/${SESSION}`;
    const headers = { authorization: `Bearer ${KEY}` };
    log(`B9: uploading one ${mb(bytes)} transcript...`);
    const put = await fetch(`${base}/transcripts/${sha}?kind=reset&fileName=${SESSION}.jsonl`, {
      method: 'PUT',
      headers,
      body: Readable.toWeb(Readable.from(largeTranscriptChunks(SESSION, size))) as ReadableStream,
      duplex: 'half',
    });
    if (put.status !== 201) throw new Error(`upload answered ${put.status}: ${await put.text()}`);

    const pid = server.child.pid ?? 0;
    const measure = async (path: string) => {
      const before = await rssOf(pid);
      const sampler = sampleRss(pid);
      const started = performance.now();
      const response = await fetch(`${base}${path}`, { headers });
      if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
      let out = 0;
      for await (const chunk of response.body ?? []) out += (chunk as Uint8Array).byteLength;
      const wallMs = performance.now() - started;
      return { wallMs, out, growth: Math.max(0, (await sampler.stop()) - before) };
    };
    log('B9: raw download...');
    const rawRun = await measure(`/transcripts/${sha}`);
    const runs: Record<string, Awaited<ReturnType<typeof measure>>> = {};
    for (const format of ['markdown', 'json', 'html']) {
      log(`B9: ${format} export...`);
      runs[format] = await measure(`/export?format=${format}`);
    }
    const rate = (run: { wallMs: number }) => bytes / MB / (run.wallMs / 1000);
    let first = true;
    for (const [format, run] of Object.entries(runs)) {
      rows.push({
        id: 'B9',
        workload: first ? `one ${mb(bytes)} transcript, exported` : '',
        figure: `${format}: transcript MB/s · output · API RSS growth`,
        nexus: `${rate(run).toFixed(1)} · ${mb(run.out)} · ${mb(run.growth)}`,
        baseline: first ? `raw: ${rate(rawRun).toFixed(1)} · ${mb(rawRun.growth)}` : '',
        ratio: `${(rate(run) / rate(rawRun)).toFixed(2)}×`,
        goal: 'RSS growth < 100 MB',
        met: run.growth < 100 * MB ? 'yes' : 'no',
      });
      first = false;
    }
    raw['B9'] = { bytes, raw: rawRun, runs };
  } finally {
    await server.stop();
  }
}
