/**
 * Counts a client's API requests: a proxy on loopback in front of the API server, plain
 * HTTP or (`tls`) HTTPS with a self-signed certificate, so the client pays for TLS as it
 * would against the API server itself.
 * The client gets a kubeconfig whose server is the proxy (its own token is passed through,
 * so RBAC still applies to it); every request is counted by verb and resource before it is
 * forwarded. Watches are streamed through unchanged.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';

export class RequestCounter {
  private readonly counts = new Map<string, number>();
  private server?: http.Server;
  private connections = 0;
  private readonly agent: https.Agent;
  /** The proxy's own certificate (PEM), when it serves TLS. */
  private cert?: Buffer;

  constructor(private readonly upstream: string, ca: Buffer) {
    this.agent = new https.Agent({ ca, keepAlive: true });
  }

  /** Starts listening; resolves with the proxy's URL. */
  public async start(options: { tls?: boolean } = {}): Promise<string> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.forward(req, res);
    let server: http.Server;
    if (options.tls) {
      const { key, cert } = selfSignedCertificate();
      this.cert = cert;
      server = https.createServer({ key, cert }, handler);
    } else {
      server = http.createServer(handler);
    }
    server.on(options.tls ? 'secureConnection' : 'connection', () => this.connections++);
    // Idle connections stay open for the client to reuse, as an API server keeps them (node's default closes them after 5 s).
    server.keepAliveTimeout = 90_000;
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
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

  /** Connections the subject has opened to the proxy so far (TLS handshakes when it serves TLS). */
  public get connectionsOpened(): number {
    return this.connections;
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
      // Plain HTTP on loopback to the proxy needs this set for client-node (there is no TLS
      // to verify). The proxy verifies the API server's certificate.
      c.cluster = this.cert
        ? { 'server': proxyUrl, 'certificate-authority-data': this.cert.toString('base64') }
        : { 'server': proxyUrl, 'insecure-skip-tls-verify': true };
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
      // Now, as the API server does: a watch's headers would otherwise wait for its first event.
      res.flushHeaders();
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

/** A throwaway certificate for 127.0.0.1 (openssl). */
function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'request-counter-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
    { stdio: 'ignore' });
    return { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
