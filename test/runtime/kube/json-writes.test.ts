/**
 * The controller's writes as plain JSON (kube/json-request.ts, object-writes.ts,
 * pv-writes.ts) against a loopback HTTP server that records each request: method, path and
 * query, content type, the credentials the client configuration put on it, and the body;
 * and the answers the callers get back (parsed JSON; statuses as errors core/errors.ts
 * reads). TLS and client-node's own configuration are covered by connection-reuse.test.ts.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { errorMessage, isConflict, isNotFound, statusCode } from '../../../src/runtime/core/errors';
import { ApiError, apiTarget, RequestAuth } from '../../../src/runtime/kube/api-target';
import { CONTENT_TYPES, JsonRequester } from '../../../src/runtime/kube/json-request';
import { createEvent, FIELD_MANAGER, patchClaim, patchClaimStatus, patchEvent, patchVolume } from '../../../src/runtime/kube/object-writes';
import { createPv, deletePv } from '../../../src/runtime/kube/pv-writes';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly contentType?: string;
  readonly authorization?: string;
  readonly body: string;
}

let server: http.Server;
let base: string;
let seen: Seen[] = [];
/** The next answers, by request order; default 200 with `{"kind":"Status","ok":true}`. */
let answers: Array<{ status: number; body: string }> = [];
let connections = 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const answer = answers.shift() ?? { status: 200, body: '{"metadata":{"uid":"u-1","resourceVersion":"42"}}' };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  server.on('connection', () => connections++);
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

/** What client-node's KubeConfig does for a token user: a bearer header and the shared agent. */
function auth(server_ = base): RequestAuth {
  return {
    applyToHTTPSOptions: async (opts) => {
      opts.headers = { Authorization: 'Bearer test-token' };
      opts.agent = agent as unknown as typeof opts.agent;
    },
    getCurrentCluster: () => ({ server: server_ }),
  };
}

const api = () => new JsonRequester(apiTarget(auth()));
const statusBody = (code: number, reason: string, message: string) =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });

describe('JsonRequester', () => {
  test('sends the body as JSON with the configured credentials and resolves with the parsed answer', async () => {
    const answer = await api().request<{ metadata: { uid: string } }>('POST', '/api/v1/things', { a: 1, when: new Date('2026-01-02T03:04:05.678Z') });
    expect(answer.metadata.uid).toBe('u-1');
    expect(seen).toEqual([{
      method: 'POST',
      url: '/api/v1/things',
      contentType: 'application/json',
      authorization: 'Bearer test-token',
      body: '{"a":1,"when":"2026-01-02T03:04:05.678Z"}',
    }]);
  });

  test('a request without a body sends none, and an empty answer resolves to undefined', async () => {
    answers = [{ status: 200, body: '' }];
    await expect(api().request('DELETE', '/api/v1/things/x')).resolves.toBeUndefined();
    expect(seen[0]).toMatchObject({ method: 'DELETE', body: '' });
    expect(seen[0].contentType).toBeUndefined();
  });

  test('a status outside 2xx rejects with its code and the API\'s Status, as core/errors.ts reads them', async () => {
    answers = [{ status: 409, body: statusBody(409, 'AlreadyExists', 'persistentvolumes "pv-1" already exists') }];
    const error = await api().request('POST', '/api/v1/persistentvolumes', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(statusCode(error)).toBe(409);
    expect(isConflict(error)).toBe(true);
    expect(errorMessage(error)).toBe('persistentvolumes "pv-1" already exists');
    expect((error as Error).message).toBe('POST /api/v1/persistentvolumes: HTTP 409: persistentvolumes "pv-1" already exists');
  });

  test('an answer that is not JSON is an error naming the request', async () => {
    answers = [{ status: 200, body: '<html>' }];
    await expect(api().request('GET', '/x')).rejects.toThrow(/^GET \/x: the answer is not JSON/);
  });

  test('a server URL with a path keeps it in front of every API path', async () => {
    await new JsonRequester(apiTarget(auth(`${base}/proxy/cluster-1/`))).request('GET', '/api/v1/nodes');
    expect(seen[0].url).toBe('/proxy/cluster-1/api/v1/nodes');
  });

  test('requests go through the agent the configuration sets (one keep-alive connection here)', async () => {
    const before = connections;
    const requester = api();
    for (let i = 0; i < 5; i++) await requester.request('GET', '/x');
    await Promise.all(Array.from({ length: 5 }, () => requester.request('GET', '/x')));
    expect(seen).toHaveLength(10);
    expect(connections - before).toBeLessThanOrEqual(1);
  });

  test('a configuration without a cluster server is refused at construction', () => {
    expect(() => apiTarget({ applyToHTTPSOptions: async () => undefined, getCurrentCluster: () => null }))
      .toThrow('the client configuration has no current cluster server');
  });
});

describe('object writes', () => {
  test('a claim patch is a merge patch by our field manager, with the resourceVersion precondition in the body', async () => {
    const updated = await patchClaim(api(), 'team a', 'data', { metadata: { annotations: { k: 'v' } } }, '17');
    expect(updated.metadata?.resourceVersion).toBe('42');
    expect(seen[0]).toMatchObject({
      method: 'PATCH',
      url: `/api/v1/namespaces/team%20a/persistentvolumeclaims/data?fieldManager=${FIELD_MANAGER}`,
      contentType: CONTENT_TYPES.mergePatch,
    });
    expect(JSON.parse(seen[0].body)).toEqual({ metadata: { annotations: { k: 'v' }, resourceVersion: '17' } });
  });

  test('a claim status patch goes to the status subresource; without a resourceVersion the body is the patch', async () => {
    await patchClaimStatus(api(), 'ns', 'data', { status: { capacity: { storage: '2Gi' } } });
    expect(seen[0]).toMatchObject({ method: 'PATCH', url: `/api/v1/namespaces/ns/persistentvolumeclaims/data/status?fieldManager=${FIELD_MANAGER}` });
    expect(JSON.parse(seen[0].body)).toEqual({ status: { capacity: { storage: '2Gi' } } });
  });

  test('a PV patch is a merge patch on the cluster-scoped PV', async () => {
    await patchVolume(api(), 'pvc-1', { spec: { capacity: { storage: '2Gi' } } });
    expect(seen[0]).toMatchObject({ method: 'PATCH', url: `/api/v1/persistentvolumes/pvc-1?fieldManager=${FIELD_MANAGER}`, contentType: CONTENT_TYPES.mergePatch });
  });

  test('an Event is created in its namespace, and a repeat is a merge patch of its count and time', async () => {
    await createEvent(api(), 'ns', { metadata: { name: 'data.1', namespace: 'ns' }, involvedObject: { kind: 'PersistentVolumeClaim', name: 'data' }, reason: 'Provisioning' });
    await patchEvent(api(), 'ns', 'data.1', { count: 2, lastTimestamp: new Date('2026-01-02T03:04:05Z') });
    expect(seen.map((s) => `${s.method} ${s.url} ${s.contentType}`)).toEqual([
      'POST /api/v1/namespaces/ns/events application/json',
      `PATCH /api/v1/namespaces/ns/events/data.1 ${CONTENT_TYPES.mergePatch}`,
    ]);
    expect(JSON.parse(seen[0].body)).toMatchObject({ reason: 'Provisioning', involvedObject: { name: 'data' } });
    expect(JSON.parse(seen[1].body)).toEqual({ count: 2, lastTimestamp: '2026-01-02T03:04:05.000Z' });
  });

  test('a patch of an Event that expired rejects with 404 (the recorder then creates a new one)', async () => {
    answers = [{ status: 404, body: statusBody(404, 'NotFound', 'events "data.1" not found') }];
    const error = await patchEvent(api(), 'ns', 'data.1', { count: 2 }).catch((e: unknown) => e);
    expect(isNotFound(error)).toBe(true);
  });
});

describe('PV writes', () => {
  const pv = { metadata: { name: 'pvc-1' }, spec: { capacity: { storage: '1Gi' } } };

  test('create posts the PV with its kind and reports created', async () => {
    await expect(createPv(api(), pv)).resolves.toBe('created');
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/v1/persistentvolumes', contentType: 'application/json' });
    expect(JSON.parse(seen[0].body)).toEqual({ apiVersion: 'v1', kind: 'PersistentVolume', ...pv });
  });

  test('create answered 409 AlreadyExists reports exists; another failure is thrown', async () => {
    answers = [
      { status: 409, body: statusBody(409, 'AlreadyExists', 'exists') },
      { status: 403, body: statusBody(403, 'Forbidden', 'persistentvolumes is forbidden') },
    ];
    await expect(createPv(api(), pv)).resolves.toBe('exists');
    await expect(createPv(api(), pv)).rejects.toMatchObject({ code: 403 });
  });

  test('delete carries the preconditions given, and none when none are', async () => {
    await expect(deletePv(api(), 'pvc-1', { uid: 'u-1', resourceVersion: '9' })).resolves.toBe('deleted');
    await expect(deletePv(api(), 'pvc-2', {})).resolves.toBe('deleted');
    expect(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual([
      'DELETE /api/v1/persistentvolumes/pvc-1 {"preconditions":{"uid":"u-1","resourceVersion":"9"}}',
      'DELETE /api/v1/persistentvolumes/pvc-2 ',
    ]);
  });

  test('delete answered 404 is gone, 409 (a precondition failed) is conflict', async () => {
    answers = [
      { status: 404, body: statusBody(404, 'NotFound', 'not found') },
      { status: 409, body: statusBody(409, 'Conflict', 'Precondition failed: UID in precondition: u-1, UID in object meta: u-2') },
    ];
    await expect(deletePv(api(), 'pvc-1', { uid: 'u-1' })).resolves.toBe('gone');
    await expect(deletePv(api(), 'pvc-1', { uid: 'u-1' })).resolves.toBe('conflict');
  });
});
