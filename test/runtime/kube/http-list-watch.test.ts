/**
 * List and watch over plain GETs against a real local HTTPS server (a self-signed
 * certificate made for the test, trusted through the agent as the kubeconfig's CA is):
 * paginated lists with the bearer token and label selector, plain JSON objects, watch
 * events however the body is cut into chunks, bookmarks, a clean end, errors as statuses
 * core/errors.ts reads, a broken stream, abort; and the real informer relisting on 410 Gone.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import type { IncomingMessage, ServerResponse } from 'http';
import * as https from 'https';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import type { TLSSocket } from 'tls';
import { isGone, statusCode } from '../../../src/runtime/core/errors';
import { Informer } from '../../../src/runtime/core/informer';
import { ApiError, type ApiTarget } from '../../../src/runtime/kube/api-target';
import { httpListWatch } from '../../../src/runtime/kube/http-list-watch';
import { project } from '../../../src/runtime/kube/projection';
import { JsonLogger } from '../../../src/runtime/ops/log';
import type { KubeObject, WatchEventType } from '../../../src/runtime/ports/list-watch';
import { until } from '../core/until';

const PVS = '/api/v1/persistentvolumes';
const TOKEN = 'test-token';

interface Pv extends KubeObject {
  metadata: { name: string; resourceVersion?: string; creationTimestamp?: unknown; managedFields?: unknown };
  spec?: { nfs?: { server: string; path: string } };
}

let dir: string;
let server: https.Server;
let cert: Buffer;
let agent: https.Agent;
let target: ApiTarget;
let handshakes = 0;
/** What the server does with the next request; the test sets it. */
let handler: (req: IncomingMessage, url: URL, res: ServerResponse) => void;
const seen: Array<{ url: URL; authorization?: string }> = [];

const pv = (i: number): Pv => ({
  metadata: {
    name: `pv-${i}`,
    resourceVersion: String(100 + i),
    creationTimestamp: '2026-01-02T03:04:05Z',
    managedFields: [{ manager: 'kube-controller-manager', fieldsV1: { 'f:status': {} } }],
  },
  spec: { nfs: { server: '10.0.0.5', path: `/exports/pv-${i}` } },
});

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'http-list-watch-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  cert = fs.readFileSync(path.join(dir, 'cert.pem'));
  server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    seen.push({ url, authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      json(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    handler(req, url, res);
  });
  server.on('secureConnection', (_socket: TLSSocket) => { handshakes++; });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The agent trusts the test's CA, as the kube client's shared agent trusts the kubeconfig's.
  agent = new https.Agent({ ca: cert, keepAlive: true, maxSockets: 8 });
  target = {
    server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requestOptions: async () => ({ agent, headers: { authorization: `Bearer ${TOKEN}` } }),
  };
}, 60_000);

afterAll(async () => {
  agent.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen.length = 0;
  handshakes = 0;
});

/** A list server: `total` PVs in pages of the asked limit, continue tokens as offsets. */
function servePages(total: number, resourceVersion = '500') {
  handler = (_req, url, res) => {
    const limit = Number(url.searchParams.get('limit'));
    const offset = Number(url.searchParams.get('continue') ?? 0);
    const items = Array.from({ length: Math.min(limit, total - offset) }, (_, i) => pv(offset + i));
    const next = offset + items.length < total ? String(offset + items.length) : undefined;
    json(res, 200, { kind: 'PersistentVolumeList', apiVersion: 'v1', metadata: { resourceVersion, continue: next }, items });
  };
}

/** Starts a watch and collects what it reports. */
async function watchAll(port = httpListWatch<Pv>(target, PVS, { project }), rv = '500') {
  const events: Array<[WatchEventType, Pv]> = [];
  let done: unknown = 'not yet';
  const handle = await port.watch(rv, 30, (type, obj) => events.push([type, obj]), (error) => { done = error; });
  return { events, handle, done: () => done };
}

describe('list', () => {
  test('pages through continue tokens with the token, limit and label selector; items are plain JSON, projected', async () => {
    servePages(7);
    const port = httpListWatch<Pv>(target, PVS, { pageSize: 3, labelSelector: 'app=nfs', project });
    const listed = await port.list();
    expect(listed.resourceVersion).toBe('500');
    expect(listed.items.map((o) => o.metadata.name)).toEqual(['pv-0', 'pv-1', 'pv-2', 'pv-3', 'pv-4', 'pv-5', 'pv-6']);
    expect(seen.map((s) => [s.url.searchParams.get('limit'), s.url.searchParams.get('continue'), s.url.searchParams.get('labelSelector')]))
      .toEqual([['3', null, 'app=nfs'], ['3', '3', 'app=nfs'], ['3', '6', 'app=nfs']]);
    expect(seen.every((s) => s.authorization === `Bearer ${TOKEN}`)).toBe(true);
    const first = listed.items[0];
    // Plain objects, as the JSON had them: timestamps are strings, no model class, no managedFields.
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    expect(first.metadata.creationTimestamp).toBe('2026-01-02T03:04:05Z');
    expect('managedFields' in first.metadata).toBe(false);
    expect(first.spec).toEqual({ nfs: { server: '10.0.0.5', path: '/exports/pv-0' } });
  });

  test('with a page callback each page is handed over as it arrives and none is kept', async () => {
    servePages(5);
    const pages: string[][] = [];
    const listed = await httpListWatch<Pv>(target, PVS, { pageSize: 2, project }).list((items) => {
      pages.push(items.map((o) => o.metadata.name));
      expect(items.every((o) => !('managedFields' in o.metadata))).toBe(true);
    });
    expect(pages).toEqual([['pv-0', 'pv-1'], ['pv-2', 'pv-3'], ['pv-4']]);
    expect(listed).toEqual({ items: [], resourceVersion: '500' });
  });

  test('pages share one kept-alive TLS connection', async () => {
    servePages(10);
    await httpListWatch<Pv>(target, PVS, { pageSize: 2 }).list();
    await httpListWatch<Pv>(target, PVS, { pageSize: 2 }).list();
    expect(seen).toHaveLength(10);
    expect(handshakes).toBeLessThanOrEqual(1);
  });

  test('an empty list (items: null) gives no items and the resourceVersion', async () => {
    handler = (_req, _url, res) => json(res, 200, { kind: 'PersistentVolumeList', metadata: { resourceVersion: '9' }, items: null });
    await expect(httpListWatch<Pv>(target, PVS).list()).resolves.toEqual({ items: [], resourceVersion: '9' });
  });

  test('a refused list fails with the status and the API message, as core/errors reads them', async () => {
    handler = (_req, _url, res) => json(res, 403, status(403, 'Forbidden', 'persistentvolumes is forbidden: User "x" cannot list resource "persistentvolumes"'));
    const error = await httpListWatch<Pv>(target, PVS).list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(statusCode(error)).toBe(403);
    expect((error as Error).message).toContain('cannot list resource "persistentvolumes"');
  });

  test('an expired continue token is a 410 the informer treats as an error to retry', async () => {
    handler = (_req, url, res) => (url.searchParams.get('continue')
      ? json(res, 410, status(410, 'Expired', 'The provided continue parameter is too old'))
      : json(res, 200, { metadata: { resourceVersion: '1', continue: 'c' }, items: [pv(0)] }));
    const error = await httpListWatch<Pv>(target, PVS).list().catch((e: unknown) => e);
    expect(isGone(error)).toBe(true);
  });

  test('an answer that is not JSON fails naming the path', async () => {
    handler = (_req, _url, res) => { res.writeHead(200).end('<html>proxy error</html>'); };
    await expect(httpListWatch<Pv>(target, PVS).list()).rejects.toThrow(`GET ${PVS}: the answer is not JSON`);
  });

  test('a page that does not come in time fails naming the timeout', async () => {
    handler = () => undefined;
    await expect(httpListWatch<Pv>(target, PVS, { listTimeoutMs: 200 }).list()).rejects.toThrow('no answer within 200 ms');
    server.closeAllConnections();
  });

  test('a server the CA does not vouch for is refused', async () => {
    servePages(1);
    const stranger = new https.Agent({ keepAlive: true });
    const untrusted: ApiTarget = { server: target.server, requestOptions: async () => ({ agent: stranger, headers: { authorization: `Bearer ${TOKEN}` } }) };
    await expect(httpListWatch<Pv>(untrusted, PVS).list()).rejects.toThrow(/self-signed certificate/);
    stranger.destroy();
  });
});

describe('watch', () => {
  test('asks for bookmarks from the resourceVersion with the timeout; events cut anywhere arrive whole; a clean end reports null', async () => {
    const body = Buffer.from([
      line('ADDED', pv(1)),
      line('MODIFIED', { ...pv(1), metadata: { ...pv(1).metadata, name: 'pv-1', annotations: { note: 'snow ☃ 🚀' } } }),
      line('BOOKMARK', { kind: 'PersistentVolume', apiVersion: 'v1', metadata: { resourceVersion: '777' } }),
      line('DELETED', pv(2)),
    ].join(''), 'utf8');
    handler = (_req, _url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Cut into 7-byte chunks, each flushed on its own, so lines and characters span chunks.
      let offset = 0;
      const next = () => {
        if (offset >= body.length) { res.end(); return; }
        res.write(body.subarray(offset, offset + 7), () => setImmediate(next));
        offset += 7;
      };
      next();
    };
    const w = await watchAll();
    await until(() => w.done() !== 'not yet');
    expect(w.done()).toBeNull();
    const query = seen[0].url.searchParams;
    expect([query.get('watch'), query.get('resourceVersion'), query.get('allowWatchBookmarks'), query.get('timeoutSeconds')])
      .toEqual(['true', '500', 'true', '30']);
    expect(w.events.map(([type, obj]) => [type, obj.metadata.name ?? obj.metadata.resourceVersion]))
      .toEqual([['ADDED', 'pv-1'], ['MODIFIED', 'pv-1'], ['BOOKMARK', '777'], ['DELETED', 'pv-2']]);
    expect((w.events[1][1].metadata as { annotations?: object }).annotations).toEqual({ note: 'snow ☃ 🚀' });
    expect('managedFields' in w.events[0][1].metadata).toBe(false);
  });

  test('a watch refused with 410 Gone ends with an error isGone recognises', async () => {
    handler = (_req, _url, res) => json(res, 410, status(410, 'Expired', 'too old resource version: 1 (500)'));
    const w = await watchAll();
    await until(() => w.done() !== 'not yet');
    expect(isGone(w.done())).toBe(true);
    expect((w.done() as Error).message).toContain('too old resource version');
  });

  test('a line that is not JSON ends the watch with an error', async () => {
    handler = (_req, _url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(line('ADDED', pv(1)));
      res.write('{"type":"ADDED","obj\n');
    };
    const w = await watchAll();
    await until(() => w.done() !== 'not yet');
    expect(w.done()).toBeInstanceOf(SyntaxError);
    expect(w.events.map(([type]) => type)).toEqual(['ADDED']);
  });

  test('a connection cut mid-stream ends the watch with an error', async () => {
    handler = (req, _url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(line('ADDED', pv(1)), () => setTimeout(() => req.socket.destroy(), 20));
    };
    const w = await watchAll();
    await until(() => w.done() !== 'not yet');
    expect(w.done()).toBeInstanceOf(Error);
    expect(w.events).toHaveLength(1);
  });

  test('after abort nothing more is reported and the server sees the connection close', async () => {
    let closed = false;
    let push!: (text: string) => void;
    handler = (req, _url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      push = (text) => res.write(text);
      req.socket.on('close', () => { closed = true; });
      res.write(line('ADDED', pv(1)));
    };
    const w = await watchAll();
    await until(() => w.events.length === 1);
    w.handle.abort();
    await until(() => closed);
    push(line('ADDED', pv(2)));
    expect(w.events).toHaveLength(1);
    expect(w.done()).toBe('not yet');
  });

  test('a refused connection ends the watch with the error', async () => {
    const nowhere = await new Promise<number>((resolve) => {
      const probe = https.createServer();
      probe.listen(0, '127.0.0.1', () => {
        const port = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(port));
      });
    });
    const closedTarget: ApiTarget = { server: `https://127.0.0.1:${nowhere}`, requestOptions: target.requestOptions };
    const w = await watchAll(httpListWatch<Pv>(closedTarget, PVS));
    await until(() => w.done() !== 'not yet');
    expect((w.done() as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});

test('the informer on this port relists when its watch is told 410 Gone, and keeps watching from the new list', async () => {
  let lists = 0;
  let watches = 0;
  const watchRvs: string[] = [];
  handler = (_req, url, res) => {
    if (url.searchParams.get('watch') !== 'true') {
      lists++;
      // The second list sees pv-2 added and pv-0 gone while no watch ran.
      const items = lists === 1 ? [pv(0), pv(1)] : [pv(1), pv(2)];
      json(res, 200, { metadata: { resourceVersion: String(600 + lists) }, items });
      return;
    }
    watches++;
    watchRvs.push(url.searchParams.get('resourceVersion') ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    if (watches === 1) {
      res.write(line('BOOKMARK', { metadata: { resourceVersion: '650' } }));
      res.end(line('ERROR', status(410, 'Expired', 'too old resource version: 650 (700)')));
    } else {
      res.write(line('MODIFIED', { ...pv(1), metadata: { ...pv(1).metadata, resourceVersion: '701' } }));
    }
  };
  const upserts: string[] = [];
  const removes: string[] = [];
  const restarts: string[] = [];
  const informer = new Informer<Pv>('persistentvolumes', httpListWatch<Pv>(target, PVS, { project }), {
    upsert: (obj) => upserts.push(`${obj.metadata.name}@${obj.metadata.resourceVersion}`),
    remove: (obj) => removes.push(obj.metadata.name),
  }, new JsonLogger(() => undefined), { onRestart: (reason) => restarts.push(reason), minBackoffMs: 10 });
  informer.start();
  try {
    await until(() => upserts.includes('pv-1@701'));
    expect(lists).toBe(2);
    expect(restarts).toEqual(['expired']);
    expect(watchRvs).toEqual(['601', '602']);
    expect(removes).toEqual(['pv-0']);
    expect(informer.list().map((o) => o.metadata.name).sort()).toEqual(['pv-1', 'pv-2']);
  } finally {
    await informer.stop();
  }
});
