/**
 * A link like a user's, without root: a TCP relay in front of a server that limits the bandwidth
 * of each direction (one link shared by every connection, as a home uplink is) and adds latency
 * (half the round trip each way). It counts the bytes that crossed it each way (TCP payload: the
 * headers of TCP and IP are not in it).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface LinkProfile {
  readonly name: string;
  /** Each direction's bandwidth. */
  readonly mbitPerSecond: number;
  /** Added round-trip time (half each way). */
  readonly rttMs: number;
}

export interface ThrottleProxy {
  /** `host:port` to connect to instead of the target. */
  readonly address: string;
  readonly port: number;
  /** Bytes relayed so far: client to server (`up`) and back (`down`). */
  bytes(): { up: number; down: number };
  stop(): Promise<void>;
}

/** A direction's backlog above which its senders are paused (bounded memory, like a queue). */
const BACKLOG_BYTES = 256 * 1024;

/** One direction of the link: FIFO, serialised at the bandwidth, delivered after the delay. */
class Direction {
  private readonly bytesPerMs: number;
  private readonly delayMs: number;
  private freeAt = 0;
  /** Chunks on their way; `undefined` is the sender's end (a half-close), in line behind them. */
  private readonly queue: { at: number; chunk: Buffer | undefined; to: Socket }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private backlog = 0;
  /** Senders paused while the backlog is over the limit, resumed together once it halved. */
  private readonly paused = new Set<Socket>();
  relayed = 0;

  constructor(mbitPerSecond: number, delayMs: number) {
    this.bytesPerMs = (mbitPerSecond * 1_000_000) / 8 / 1000;
    this.delayMs = delayMs;
  }

  send(chunk: Buffer, from: Socket, to: Socket): void {
    const now = performance.now();
    this.freeAt = Math.max(now, this.freeAt) + chunk.length / this.bytesPerMs;
    this.queue.push({ at: this.freeAt + this.delayMs, chunk, to });
    this.backlog += chunk.length;
    if (this.backlog > BACKLOG_BYTES) {
      from.pause();
      this.paused.add(from);
    }
    this.schedule();
  }

  end(to: Socket): void {
    const at = Math.max(performance.now(), this.freeAt) + this.delayMs;
    this.queue.push({ at, chunk: undefined, to });
    this.schedule();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.timer !== undefined || head === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.deliver();
      },
      Math.max(0, head.at - performance.now()),
    );
  }

  private deliver(): void {
    const now = performance.now();
    for (
      let head = this.queue[0];
      head !== undefined && head.at <= now + 0.5;
      head = this.queue[0]
    ) {
      this.queue.shift();
      const { chunk, to } = head;
      if (chunk === undefined) {
        if (!to.destroyed) to.end();
        continue;
      }
      this.backlog -= chunk.length;
      this.relayed += chunk.length;
      if (!to.destroyed) to.write(chunk);
    }
    if (this.backlog <= BACKLOG_BYTES / 2) {
      for (const sender of this.paused) if (!sender.destroyed) sender.resume();
      this.paused.clear();
    }
    this.schedule();
  }
}

/** Starts a relay to `target` (`host:port`) over the given link, listening on `listen`. */
export async function startThrottle(
  target: string,
  link: LinkProfile,
  listen = '127.0.0.1',
): Promise<ThrottleProxy> {
  const [host = '127.0.0.1', portText = ''] = target.split(/:(?=\d+$)/);
  const up = new Direction(link.mbitPerSecond, link.rttMs / 2);
  const down = new Direction(link.mbitPerSecond, link.rttMs / 2);
  const sockets = new Set<Socket>();
  // Half-open allowed: a client that has sent all it has still gets the answer.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ port: Number(portText), host, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      up.send(chunk, client, upstream);
    });
    upstream.on('data', (chunk: Buffer) => {
      down.send(chunk, upstream, client);
    });
    // A half-close travels behind the bytes before it.
    client.on('end', () => {
      up.end(upstream);
    });
    upstream.on('end', () => {
      down.end(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, listen, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    address: `${listen}:${String(port)}`,
    port,
    bytes: () => ({ up: up.relayed, down: down.relayed }),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
