/**
 * One HTTP port for the kubelet's probes and Prometheus:
 * - `/healthz`: liveness; fails only when the process is wedged (a watch that stays broken).
 * - `/readyz`: readiness; ready once caches are synced (leader) or the Lease is reachable (standby).
 * - `/metrics`: Prometheus text format.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { Registry } from 'prom-client';

export interface Check {
  readonly ok: boolean;
  readonly detail: string;
}

export interface OpsServerOptions {
  readonly port: number;
  readonly registry: Registry;
  readonly healthy: () => Check;
  readonly ready: () => Check;
  /** Listen address. @default all interfaces */
  readonly host?: string;
}

export class OpsServer {
  private server?: http.Server;

  constructor(private readonly options: OpsServerOptions) {}

  /** Starts listening; resolves with the bound port (useful with port 0). */
  async start(): Promise<number> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return reply(res, 405, 'text/plain', 'method not allowed\n');
      }
      switch (url) {
        case '/healthz': return probe(res, this.options.healthy());
        case '/readyz': return probe(res, this.options.ready());
        case '/metrics': return reply(res, 200, this.options.registry.contentType, await this.options.registry.metrics());
        default: return reply(res, 404, 'text/plain', 'not found\n');
      }
    } catch (error) {
      return reply(res, 500, 'text/plain', `${(error as Error).message}\n`);
    }
  }
}

function probe(res: http.ServerResponse, check: Check): void {
  reply(res, check.ok ? 200 : 503, 'text/plain', `${check.ok ? 'ok' : 'not ok'}: ${check.detail}\n`);
}

function reply(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(body);
}
