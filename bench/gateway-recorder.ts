import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A relay in front of a real OpenClaw gateway that notes, per `/hooks/agent` idempotency key,
 * when the gateway answered 200 (the run started): what `GatewayStandIn.runs` records for the
 * stand-in, so B5 can report the same figures against the real thing.
 */
export class GatewayRecorder {
  readonly runs = new Map<string, { at: number }>();
  /** Per run, how long the gateway took to answer 200 (from the relay's request to its answer). */
  readonly answerMs: number[] = [];
  /** Requests relayed; 200s for a key answered 200 before; answers other than 200 by status. */
  hits = 0;
  repeats = 0;
  readonly refused = new Map<number, number>();
  private server: Server | undefined;
  private readonly target: URL;

  constructor(gatewayUrl: string) {
    this.target = new URL(gatewayUrl);
  }

  get url(): string {
    const { port } = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const body = Buffer.concat(chunks);
        this.hits += 1;
        const sentAt = Date.now();
        const relayed = httpRequest(
          {
            host: this.target.hostname,
            port: this.target.port,
            method: incoming.method,
            path: incoming.url,
            headers: { ...incoming.headers, host: this.target.host },
          },
          (answer) => {
            const status = answer.statusCode ?? 0;
            if (status === 200) {
              const key = keyOf(body);
              if (key !== undefined && this.runs.has(key)) this.repeats += 1;
              else if (key !== undefined) {
                this.runs.set(key, { at: Date.now() });
                this.answerMs.push(Date.now() - sentAt);
              }
            } else this.refused.set(status, (this.refused.get(status) ?? 0) + 1);
            outgoing.writeHead(status, answer.headers);
            answer.pipe(outgoing);
          },
        );
        relayed.on('error', () => {
          outgoing.writeHead(502).end();
        });
        relayed.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function keyOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { idempotencyKey?: unknown };
    return typeof parsed.idempotencyKey === 'string' ? parsed.idempotencyKey : undefined;
  } catch {
    return undefined;
  }
}
