/**
 * The kube adapter reuses its connections: requests made one after another share one TLS
 * connection, a burst opens at most MAX_SOCKETS of them, and a watch works on the shared
 * pool while requests go on beside it. The real client (client-node, bundled into a child
 * process) talks to a local HTTPS server with a self-signed certificate that counts TLS
 * handshakes.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import type { TLSSocket } from 'tls';
import { buildSync } from 'esbuild';
import { MAX_SOCKETS } from '../../../src/runtime/kube/shared-agent';

const CLASSES_PATH = '/apis/storage.k8s.io/v1/storageclasses';
let dir: string;
let child: string;
let server: https.Server;
let kubeconfig: string;
let handshakes = 0;
let openConnections = 0;
let peakConnections = 0;
/** Set by the burst test: list answers are held until this many requests are waiting. */
let holdUntil = 0;
let held: Array<() => void> = [];
/** Requests to paths other than the StorageClass list: method, path, content type, credentials, body. */
let writes: string[] = [];

function answerList(res: import('http').ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'StorageClassList', apiVersion: 'storage.k8s.io/v1', metadata: { resourceVersion: '7' }, items: [{ metadata: { name: 'files' } }] }));
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connection-reuse-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  const cert = fs.readFileSync(path.join(dir, 'cert.pem'));
  server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    if (url.pathname !== CLASSES_PATH) {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        writes.push(`${req.method} ${req.url} ${req.headers['content-type']} ${req.headers.authorization} ${body}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"metadata":{"resourceVersion":"6"}}');
      });
    } else if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'watched', resourceVersion: '8' } } })}\n`);
    } else if (held.length + 1 < holdUntil) {
      held.push(() => answerList(res));
    } else {
      holdUntil = 0;
      for (const release of held.splice(0)) release();
      answerList(res);
    }
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    handshakes++;
    peakConnections = Math.max(peakConnections, ++openConnections);
    socket.on('close', () => openConnections--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kubeconfig = path.join(dir, 'kubeconfig.json');
  fs.writeFileSync(kubeconfig, JSON.stringify({
    'apiVersion': 'v1',
    'kind': 'Config',
    'clusters': [{ name: 'c', cluster: { 'server': `https://127.0.0.1:${(server.address() as AddressInfo).port}`, 'certificate-authority-data': cert.toString('base64') } }],
    'users': [{ name: 'u', user: { token: 'test-token' } }],
    'contexts': [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  }));
  child = path.join(dir, 'child.js');
  buildSync({ entryPoints: [path.join(__dirname, 'connection-reuse-child.ts')], bundle: true, platform: 'node', target: 'node20', outfile: child, logLevel: 'error' });
}, 60_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  handshakes = 0;
  peakConnections = 0;
  held = [];
  writes = [];
});

/** Runs the child and resolves with what it printed. */
function runChild(mode: string, count: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, kubeconfig, mode, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (c) => { out += c; });
    proc.stderr.on('data', (c) => { err += c; });
    proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

test('requests made one after another share one TLS connection', async () => {
  const result = await runChild('serial', 20);
  expect(result.listed).toEqual(Array(20).fill(1));
  expect(handshakes).toBe(1);
});

test(`a burst of requests opens at most ${MAX_SOCKETS} connections and reuses them for the rest`, async () => {
  holdUntil = MAX_SOCKETS;
  const result = await runChild('burst', MAX_SOCKETS + 20);
  expect(result.listed).toEqual(Array(MAX_SOCKETS + 20).fill(1));
  expect(peakConnections).toBe(MAX_SOCKETS);
  expect(handshakes).toBe(MAX_SOCKETS);
});

test('a watch receives its events on the shared pool while requests go on beside it', async () => {
  const result = await runChild('watch', 10);
  expect(result.events).toEqual(['ADDED watched']);
  expect(result.listed).toEqual(Array(10).fill(1));
  // One connection held by the watch, one reused by the ten requests.
  expect(handshakes).toBe(2);
});

test('the plain-JSON writes use the configuration\'s credentials and the same TLS connection as client-node\'s requests', async () => {
  const result = await runChild('writes', 3);
  expect(result.listed).toEqual([1]);
  expect(result.answers).toEqual(['created', '6', 'deleted', 'created', '6', 'deleted', 'created', '6', 'deleted']);
  expect(writes.slice(0, 4)).toEqual([
    'POST /api/v1/persistentvolumes application/json Bearer test-token {"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-0"}}',
    'PATCH /api/v1/namespaces/ns/persistentvolumeclaims/claim-0?fieldManager=cdk8s-storage-controller application/merge-patch+json Bearer test-token '
      + '{"metadata":{"annotations":{"k":"v"},"resourceVersion":"5"}}',
    'POST /api/v1/namespaces/ns/events application/json Bearer test-token {"metadata":{"name":"e-0"},"involvedObject":{}}',
    'DELETE /api/v1/persistentvolumes/pv-0 application/json Bearer test-token {"preconditions":{"uid":"u-1"}}',
  ]);
  expect(writes).toHaveLength(12);
  expect(handshakes).toBe(1);
});
