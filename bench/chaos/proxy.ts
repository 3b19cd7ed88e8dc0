import {
  Agent,
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

/** The header every peer request carries: the sender's advertised host:port (src/p2p/wire.ts). */
const HEADER_ADDR = 'x-chainmesh-addr';

/**
 * A forwarding proxy in front of one node: the node advertises the proxy's
 * address, so every peer request to it passes here and the harness can cut
 * it, by sender (a partition) or entirely (the address is gone). Requests
 * that are cut have their connection destroyed, as a dropped network would;
 * no root-only tooling (iptables, netns) is needed.
 */
export class NodeProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  /** Requests forwarded and requests cut, for the report. */
  forwarded = 0;
  cut = 0;

  constructor(
    readonly port: number,
    /** The node's own port (changes when it restarts elsewhere). */
    public targetPort: number,
    /** Decides, per request, whether the sender (its advertised address, if it gave one) may reach this node. */
    private readonly allowed: (senderAddr: string | undefined) => boolean,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.forward(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Drops every open connection (after a partition starts, no request in flight slips through). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropConnections();
    this.agent.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const sender = req.headers[HEADER_ADDR];
    if (!this.allowed(typeof sender === 'string' ? sender : undefined)) {
      this.cut++;
      req.socket.destroy();
      return;
    }
    this.forwarded++;
    const upstream = request(
      {
        host: '127.0.0.1',
        port: this.targetPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.agent,
      },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
        reply.on('error', () => res.destroy());
      },
    );
    // The node is down or stopped mid-answer: the caller sees the connection fail, as without a proxy.
    upstream.on('error', () => req.socket.destroy());
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}
