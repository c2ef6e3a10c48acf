/**
 * Counts a client's API requests: a plain-HTTP proxy on loopback in front of the API server.
 * The client gets a kubeconfig whose server is the proxy (its own token is passed through,
 * so RBAC still applies to it); every request is counted by verb and resource before it is
 * forwarded. Watches are streamed through unchanged.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo } from 'net';
import * as yaml from 'js-yaml';

export class RequestCounter {
  private readonly counts = new Map<string, number>();
  private server?: http.Server;
  private readonly agent: https.Agent;

  constructor(private readonly upstream: string, ca: Buffer) {
    this.agent = new https.Agent({ ca, keepAlive: true });
  }

  /** Starts listening; resolves with the proxy's URL. */
  public async start(): Promise<string> {
    const server = http.createServer((req, res) => this.forward(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  public async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.agent.destroy();
  }

  /** Requests so far by `VERB resource` (e.g. `POST persistentvolumes`, `WATCH persistentvolumes`). */
  public snapshot(): Map<string, number> {
    return new Map(this.counts);
  }

  public total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  /**
   * Writes a copy of `kubeconfig` whose server is this proxy, keeping the user's credentials.
   * The proxy must be started.
   */
  public rewriteKubeconfig(kubeconfig: string, proxyUrl: string, out: string): string {
    const config = yaml.load(fs.readFileSync(kubeconfig, 'utf8')) as any;
    for (const c of config.clusters ?? []) {
      // Plain HTTP on loopback to the proxy; client-node accepts http only with this set
      // (there is no TLS to verify). The proxy verifies the API server's certificate.
      c.cluster = { 'server': proxyUrl, 'insecure-skip-tls-verify': true };
    }
    fs.writeFileSync(out, yaml.dump(config), { mode: 0o600 });
    return out;
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.upstream);
    const key = `${verbOf(req.method ?? 'GET', url)} ${resourceOf(url.pathname)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const headers = { ...req.headers, host: url.host };
    const upstream = https.request(url, { method: req.method, headers, agent: this.agent }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}

function verbOf(method: string, url: URL): string {
  if (method !== 'GET') return method;
  if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') return 'WATCH';
  return isCollection(url.pathname) ? 'LIST' : 'GET';
}

/** `/api/v1/namespaces/x/events/y` -> `events`; `/apis/storage.k8s.io/v1/storageclasses` -> `storageclasses`. */
function resourceOf(pathname: string): string {
  const parts = pathname.split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  const afterNs = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  return afterNs[0] ?? pathname;
}

function isCollection(pathname: string): boolean {
  const parts = pathname.split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  const afterNs = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  return afterNs.length === 1;
}
