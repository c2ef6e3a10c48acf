/**
 * The single-object reads (kube/object-reads.ts) and the leader-election Lease
 * (kube/lease-requests.ts) as plain JSON, against a loopback HTTP server that records each
 * request and answers from a script: the paths and queries sent, the bodies written, and
 * what the callers get back (404 as "not there", other failures as errors core/errors.ts reads).
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { isConflict, statusCode } from '../../../src/runtime/core/errors';
import { apiTarget } from '../../../src/runtime/kube/api-target';
import { JsonRequester } from '../../../src/runtime/kube/json-request';
import { fromLease, leaseRequests, toLease } from '../../../src/runtime/kube/lease-requests';
import { listNodeNames, readNode, readPv, serviceClusterIP } from '../../../src/runtime/kube/object-reads';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: string;
}

let server: http.Server;
let base: string;
let seen: Seen[] = [];
/** The next answers, by request order; default 200 with an empty object. */
let answers: Array<{ status: number; body: unknown }> = [];
const agent = new http.Agent({ keepAlive: true });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      const answer = answers.shift() ?? { status: 200, body: {} };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  agent.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  answers = [];
});

const api = () => new JsonRequester(apiTarget({
  applyToHTTPSOptions: async (opts) => {
    opts.agent = agent as unknown as typeof opts.agent;
  },
  getCurrentCluster: () => ({ server: base }),
}));
const status = (code: number, reason: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message: reason });
const notFound = { status: 404, body: status(404, 'NotFound') };

describe('object reads', () => {
  test('a Service\'s cluster IP is read from its namespace; a headless or missing Service has none', async () => {
    answers = [
      { status: 200, body: { spec: { clusterIP: '10.96.0.7' } } },
      { status: 200, body: { spec: { clusterIP: 'None' } } },
      notFound,
    ];
    await expect(serviceClusterIP(api(), 'team a', 'nfs')).resolves.toBe('10.96.0.7');
    await expect(serviceClusterIP(api(), 'ns', 'headless')).resolves.toBeUndefined();
    await expect(serviceClusterIP(api(), 'ns', 'gone')).resolves.toBeUndefined();
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/namespaces/team%20a/services/nfs',
      'GET /api/v1/namespaces/ns/services/headless',
      'GET /api/v1/namespaces/ns/services/gone',
    ]);
  });

  test('a Node and a PV are read by name; 404 is undefined and any other failure is thrown', async () => {
    answers = [
      { status: 200, body: { metadata: { name: 'node-1' } } },
      notFound,
      { status: 200, body: { metadata: { name: 'pv-1' }, spec: { capacity: { storage: '1Gi' } } } },
      { status: 403, body: status(403, 'Forbidden') },
    ];
    await expect(readNode(api(), 'node-1')).resolves.toEqual({ metadata: { name: 'node-1' } });
    await expect(readNode(api(), 'node-2')).resolves.toBeUndefined();
    await expect(readPv(api(), 'pv-1')).resolves.toEqual({ metadata: { name: 'pv-1' }, spec: { capacity: { storage: '1Gi' } } });
    const error = await readPv(api(), 'pv-2').catch((e: unknown) => e);
    expect(statusCode(error)).toBe(403);
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/nodes/node-1', '/api/v1/nodes/node-2', '/api/v1/persistentvolumes/pv-1', '/api/v1/persistentvolumes/pv-2']);
  });

  test('node names are listed page by page, following the continue token', async () => {
    answers = [
      { status: 200, body: { items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }], metadata: { continue: 'tok en' } } },
      { status: 200, body: { items: [{ metadata: { name: 'c' } }, { metadata: {} }], metadata: {} } },
    ];
    await expect(listNodeNames(api(), 2)).resolves.toEqual(['a', 'b', 'c']);
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/nodes?limit=2', '/api/v1/nodes?limit=2&continue=tok+en']);
  });
});

describe('Lease requests', () => {
  const acquireTime = new Date('2026-01-02T03:04:05.678Z');
  const renewTime = new Date('2026-01-02T03:04:15.001Z');
  const record = { holderIdentity: 'pod-a', leaseDurationSeconds: 15, acquireTime, renewTime, leaseTransitions: 2, resourceVersion: '9' };
  const PATH = '/apis/coordination.k8s.io/v1/namespaces/kube%20sys/leases/nfs-lock';

  test('a missing Lease reads as undefined; a present one as its record with Dates', async () => {
    answers = [notFound, { status: 200, body: toLease('kube sys', 'nfs-lock', record) }];
    const lease = leaseRequests(api(), 'kube sys', 'nfs-lock');
    await expect(lease.get()).resolves.toBeUndefined();
    await expect(lease.get()).resolves.toEqual(record);
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([`GET ${PATH}`, `GET ${PATH}`]);
  });

  test('create posts and update puts the Lease with its times as MicroTime (six fractional digits)', async () => {
    answers = [
      { status: 201, body: toLease('kube sys', 'nfs-lock', { ...record, resourceVersion: '10' }) },
      { status: 200, body: toLease('kube sys', 'nfs-lock', { ...record, resourceVersion: '11' }) },
    ];
    const lease = leaseRequests(api(), 'kube sys', 'nfs-lock');
    await expect(lease.create(record)).resolves.toMatchObject({ resourceVersion: '10', renewTime });
    await expect(lease.update(record)).resolves.toMatchObject({ resourceVersion: '11', acquireTime });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /apis/coordination.k8s.io/v1/namespaces/kube%20sys/leases', `PUT ${PATH}`]);
    expect(JSON.parse(seen[1].body)).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'nfs-lock', namespace: 'kube sys', resourceVersion: '9' },
      spec: {
        holderIdentity: 'pod-a',
        leaseDurationSeconds: 15,
        acquireTime: '2026-01-02T03:04:05.678000Z',
        renewTime: '2026-01-02T03:04:15.001000Z',
        leaseTransitions: 2,
      },
    });
  });

  test('a conflict on create or update reaches the caller as a 409', async () => {
    answers = [{ status: 409, body: status(409, 'AlreadyExists') }, { status: 409, body: status(409, 'Conflict') }];
    const lease = leaseRequests(api(), 'ns', 'l');
    expect(isConflict(await lease.create(record).catch((e: unknown) => e))).toBe(true);
    expect(isConflict(await lease.update(record).catch((e: unknown) => e))).toBe(true);
  });

  test('an empty holder reads as no holder, and missing times as undefined', () => {
    expect(fromLease({ spec: { holderIdentity: '' }, metadata: { resourceVersion: '3' } }))
      .toEqual({ holderIdentity: undefined, leaseDurationSeconds: undefined, acquireTime: undefined, renewTime: undefined, leaseTransitions: undefined, resourceVersion: '3' });
  });
});
