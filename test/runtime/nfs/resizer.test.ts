/**
 * The resize reconciler against an in-memory API (merge patches with resourceVersion
 * preconditions): the write order, crash safety at every step, conflicts, infeasible
 * requests and claims that are not ours.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { bound, classWithMax, PROVISIONER } from './resize-fixtures';
import { K8S, PV_ANNOTATIONS } from '../../../src/contract/keys';
import { ReportedError } from '../../../src/runtime/nfs/controller';
import { NfsResizer, QuietRetry, ResizeBackend, resizeKey } from '../../../src/runtime/nfs/resizer';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { Metrics } from '../../../src/runtime/ops/metrics';
import type { EventType, ObjectRef } from '../../../src/runtime/ports/events';
import type { ClaimPatcher, Lookup } from '../../../src/runtime/ports/nfs-api';
import { MemoryApi } from '../support/memory-api';

interface Recorded {
  ref: ObjectRef;
  type: EventType;
  reason: string;
  message: string;
}

let cluster: MemoryApi;
let events: Recorded[];
let requeued: Array<[string, number]>;
let metrics: Metrics;
let logs: string[];

interface ResizerOptions {
  api?: ClaimPatcher;
  slowRetryMs?: number;
  claims?: Lookup<V1PersistentVolumeClaim>;
  backend?: ResizeBackend;
}

function resizer(options: ResizerOptions = {}): NfsResizer {
  return new NfsResizer({
    provisionerName: PROVISIONER,
    claims: options.claims ?? cluster.claims.lookup(),
    volumes: cluster.volumes.lookup(),
    classes: cluster.classes.lookup(),
    api: options.api ?? cluster.claimPatcher(),
    events: { emit: (ref, type, reason, message) => events.push({ ref, type, reason, message }) },
    metrics,
    log: new JsonLogger((l) => logs.push(l)),
    requeueAfter: (key, ms) => requeued.push([key, ms]),
    slowRetryMs: options.slowRetryMs,
    now: () => new Date('2030-01-02T03:04:05Z'),
    backend: options.backend,
  });
}

/** Puts a bound claim and its PV in the fake API; returns their names. */
function put(options: Parameters<typeof bound>[0]): { claim: V1PersistentVolumeClaim; pv: V1PersistentVolume } {
  const { claim, pv } = bound(options);
  return { claim: cluster.claims.put(claim), pv: cluster.volumes.put(pv) };
}

const claimNow = (name = 'data', ns = 'team-a') => cluster.claims.get(name, ns)!;

/** A patcher that fails its n-th call (1-based) the way a crash or an API error would. */
function failingOn(n: number, error: Error): ClaimPatcher {
  const real = cluster.claimPatcher();
  let calls = 0;
  const wrap = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    if (++calls === n) throw error;
    return fn(...args);
  };
  return { patchClaimStatus: wrap(real.patchClaimStatus), patchClaim: wrap(real.patchClaim), patchVolume: wrap(real.patchVolume) };
}

/** A patcher that dies at its n-th call (1-based): that write and every later one never happen. */
function crashingAt(n: number): ClaimPatcher {
  const real = cluster.claimPatcher();
  let calls = 0;
  const wrap = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    if (++calls >= n) throw new Error('process killed');
    return fn(...args);
  };
  return { patchClaimStatus: wrap(real.patchClaimStatus), patchClaim: wrap(real.patchClaim), patchVolume: wrap(real.patchVolume) };
}

function expectResized(size: string) {
  const claim = claimNow();
  expect(claim.status?.capacity).toEqual({ storage: size });
  expect(claim.status?.allocatedResources).toEqual({ storage: size });
  expect(claim.status?.allocatedResourceStatuses).toBeUndefined();
  expect(claim.status?.conditions ?? []).toEqual([]);
  expect(claim.metadata?.annotations?.[K8S.nodeExpansionNotRequired]).toBe('true');
  const pv = cluster.volumes.get(claim.spec!.volumeName!)!;
  expect(pv.spec?.capacity).toEqual({ storage: size });
  expect(pv.metadata?.annotations?.[PV_ANNOTATIONS.sizeLimit]).toBe(size);
}

beforeEach(() => {
  cluster = new MemoryApi();
  cluster.classes.put(classWithMax('5Gi'));
  events = [];
  requeued = [];
  logs = [];
  metrics = new Metrics();
});

test('1Gi -> 3Gi: mark (with the claim\'s resourceVersion), PV, finish (with the marked one), in that order, with both events', async () => {
  const { claim, pv } = put({ request: '3Gi', capacity: '1Gi' });
  const r = resizer();
  const key = r.claimChanged(claim);
  expect(key).toBe(resizeKey('team-a', 'data'));
  await r.handle(key!);

  expectResized('3Gi');
  expect(cluster.patches.map((p) => p.kind)).toEqual(['claim/status', 'volume', 'claim/status']);
  expect(cluster.patches[0].resourceVersion).toBe(claim.metadata?.resourceVersion);
  expect(cluster.patches[2].resourceVersion).not.toBe(claim.metadata?.resourceVersion);
  expect(cluster.patches[2].resourceVersion).toBeDefined();
  expect(events.map((e) => [e.type, e.reason, e.message])).toEqual([
    ['Normal', 'Resizing', `External resizer is resizing volume ${pv.metadata!.name} from 1Gi to 3Gi`],
    ['Normal', 'VolumeResizeSuccessful', `Resize volume succeeded: ${pv.metadata!.name} is now 3Gi`],
  ]);
  expect(events[0].ref).toMatchObject({ kind: 'PersistentVolumeClaim', name: 'data', namespace: 'team-a', uid: claim.metadata!.uid });
  expect(await metrics.registry.getSingleMetricAsString('cdk8s_storage_operations_total')).toContain('{kind="resize",result="succeeded"} 1');

  // Done: another run writes nothing.
  await r.handle(key!);
  expect(cluster.patches).toHaveLength(3);
});

test.each([
  [1, 'before the mark'],
  [2, 'after the mark, before the PV'],
  [3, 'after the PV, before the finish'],
])('a crash at write %i (%s) is finished by a fresh controller; each step is written once', async (n) => {
  put({ request: '3Gi', capacity: '1Gi' });
  // The n-th write never happens: the process dies on its way.
  await expect(resizer({ api: crashingAt(n) }).handle(resizeKey('team-a', 'data'))).rejects.toThrow();
  expect(cluster.patches).toHaveLength(n - 1);

  // A new process: nothing remembered, everything read from the objects.
  await resizer().handle(resizeKey('team-a', 'data'));
  expectResized('3Gi');
  expect(cluster.patches.map((p) => p.kind)).toEqual(['claim/status', 'volume', 'claim/status']);
  expect(events.filter((e) => e.reason === 'Resizing')).toHaveLength(1);
  expect(events.filter((e) => e.reason === 'VolumeResizeSuccessful')).toHaveLength(1);
});

test('a conflict (the claim changed under us) is retried quietly: no event, no warning log', async () => {
  put({ request: '3Gi', capacity: '1Gi' });
  // The cache still holds the old version while the user edits the claim again.
  const stale = claimNow();
  const r = resizer({ claims: { get: () => stale, list: () => [stale] } });
  cluster.claims.put({ ...claimNow(), metadata: { ...claimNow().metadata, annotations: { edited: 'yes' } } });
  await expect(r.handle(resizeKey('team-a', 'data'))).rejects.toBeInstanceOf(QuietRetry);
  expect(events).toEqual([]);
  expect(logs.filter((l) => l.includes('"warn"'))).toEqual([]);

  // The retry reads the new object and completes.
  await resizer().handle(resizeKey('team-a', 'data'));
  expectResized('3Gi');
});

test('a cache still showing a version we patched past is skipped (its newer event is on the way)', async () => {
  put({ request: '3Gi', capacity: '1Gi' });
  const before = claimNow();
  const r = resizer({ claims: { get: () => before, list: () => [before] } });
  await r.handle(resizeKey('team-a', 'data'));
  const writes = cluster.patches.length;
  await r.handle(resizeKey('team-a', 'data'));
  expect(cluster.patches.length).toBe(writes);
});

test('an API error on the PV is reported (VolumeResizeFailed, ControllerResizeError) and retried; the claim stays marked meanwhile', async () => {
  const { pv } = put({ request: '3Gi', capacity: '1Gi' });
  const refused = Object.assign(new Error('Internal error'), { code: 500, body: JSON.stringify({ message: 'etcd is slow' }) });
  await expect(resizer({ api: failingOn(2, refused) }).handle(resizeKey('team-a', 'data'))).rejects.toBeInstanceOf(ReportedError);
  expect(claimNow().status?.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
  expect(claimNow().status?.conditions?.map((c) => c.type)).toEqual(['Resizing', 'ControllerResizeError']);
  const error = claimNow().status!.conditions![1];
  expect(error.message).toMatch(new RegExp(`^resize volume "${pv.metadata!.name}" failed: cannot set its capacity: .*etcd is slow`));
  expect(events.at(-1)).toMatchObject({ type: 'Warning', reason: 'VolumeResizeFailed', message: error.message });
  await resizer().handle(resizeKey('team-a', 'data'));
  expectResized('3Gi');
});

describe('above the class maximum', () => {
  test('ControllerResizeInfeasible + ControllerResizeError + one Warning; slow retry; lowering the request then succeeds', async () => {
    put({ request: '10Gi', capacity: '1Gi' });
    const r = resizer({ slowRetryMs: 30 });
    const key = resizeKey('team-a', 'data');
    await r.handle(key);
    expect(requeued).toEqual([[key, 30]]);

    const status = claimNow().status!;
    expect(status.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInfeasible' });
    expect(status.capacity).toEqual({ storage: '1Gi' });
    expect(status.conditions).toEqual([expect.objectContaining({ type: 'ControllerResizeError', status: 'True', message: expect.stringContaining('allows at most 5Gi') })]);
    expect(events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'VolumeResizeFailed']]);
    expect(events[0].message).toMatch(/StorageClass "nfs" allows at most 5Gi .*Lower spec.resources.requests.storage to 5Gi or less/);
    expect(cluster.volumes.get(claimNow().spec!.volumeName!)!.spec?.capacity).toEqual({ storage: '1Gi' });

    // Our own write comes back as an update: no second write, no second Warning.
    const writes = cluster.patches.length;
    await r.handle(key);
    expect(cluster.patches.length).toBe(writes);
    expect(events).toHaveLength(1);

    // The slow retry (its interval has passed) warns again (the event count goes up).
    await new Promise((resolve) => setTimeout(resolve, 60));
    await r.handle(key);
    expect(events.filter((e) => e.reason === 'VolumeResizeFailed')).toHaveLength(2);

    // The user lowers the request to a feasible size.
    cluster.claims.put({ ...claimNow(), spec: { ...claimNow().spec, resources: { requests: { storage: '4Gi' } } } });
    await r.handle(key);
    expectResized('4Gi');
    expect(events.slice(-2).map((e) => e.reason)).toEqual(['Resizing', 'VolumeResizeSuccessful']);
    r.stop();
  });

  test('raising the class maximum queues the waiting claims of that class', async () => {
    const { claim } = put({ request: '10Gi', capacity: '1Gi' });
    const r = resizer();
    expect(r.classChanged(classWithMax('20Gi'))).toEqual([resizeKey('team-a', 'data')]);
    expect(r.classChanged(classWithMax('20Gi', 'other-class'))).toEqual([]);
    expect(r.classChanged({ ...classWithMax('20Gi'), provisioner: 'someone/else' })).toEqual([]);
    expect(claim).toBeDefined();
  });
});

describe('claims that are not ours are never touched', () => {
  test.each([
    ['another provisioner', (pv: V1PersistentVolume) => { pv.metadata!.annotations![K8S.provisionedBy] = 'other.example.com/nfs'; }],
    ['a static PV', (pv: V1PersistentVolume) => { delete pv.metadata!.annotations; }],
    ['a claimRef to another claim', (pv: V1PersistentVolume) => { pv.spec!.claimRef!.uid = 'not-this-one'; }],
  ])('%s: not queued, and no write or event when handled anyway', async (_what, mutate) => {
    const { claim, pv } = bound({ request: '30Gi', capacity: '1Gi' });
    mutate(pv);
    cluster.claims.put(claim);
    cluster.volumes.put(pv);
    const r = resizer();
    expect(r.claimChanged(claimNow())).toBeUndefined();
    await r.handle(resizeKey('team-a', 'data'));
    expect(cluster.patches).toEqual([]);
    expect(events).toEqual([]);
  });
});

test('leftovers on an up-to-date claim are cleared; a later request is a new resize', async () => {
  put({
    request: '2Gi',
    capacity: '2Gi',
    resizeStatus: 'ControllerResizeInProgress',
    allocated: '2Gi',
    conditions: [{ type: 'Resizing', status: 'True' }],
  });
  const r = resizer();
  await r.handle(resizeKey('team-a', 'data'));
  expect(claimNow().status?.conditions ?? []).toEqual([]);
  expect(claimNow().status?.allocatedResourceStatuses).toBeUndefined();
  expect(events).toEqual([]);
});

test('allKeys lists the claims with work; metadata-only updates do not queue again', () => {
  const { claim } = put({ request: '3Gi', capacity: '1Gi' });
  put({ name: 'idle', uid: 'idle-1' });
  const r = resizer();
  expect(r.allKeys()).toEqual([resizeKey('team-a', 'data')]);
  const annotated = cluster.claims.put({ ...claim, metadata: { ...claim.metadata, annotations: { [`${'x'}`]: 'y' } } });
  expect(r.claimChanged(annotated)).toBeUndefined();
  r.claimRemoved(annotated);
  expect(r.claimChanged(annotated)).toBe(resizeKey('team-a', 'data'));
});

describe('with a backend that enforces sizes (the in-cluster server)', () => {
  test('the backend grows first, then the PV, then the claim', async () => {
    const { pv } = put({ request: '3Gi', capacity: '1Gi' });
    const order: string[] = [];
    const backend: ResizeBackend = {
      grow: async (name, bytes) => {
        order.push(`grow ${name} ${bytes} after ${cluster.patches.map((p) => p.kind).join(',')}`);
      },
    };
    await resizer({ backend }).handle(resizeKey('team-a', 'data'));
    expect(order).toEqual([`grow ${pv.metadata!.name} ${3n * 1024n ** 3n} after claim/status`]);
    expectResized('3Gi');
  });

  test('a failed grow leaves PV and claim at the old size and the claim says why (ControllerResizeError); the retry finishes it', async () => {
    const { pv } = put({ request: '3Gi', capacity: '1Gi' });
    const failing: ResizeBackend = { grow: async () => { throw new Error('xfs_growfs: no space left on the backing disk'); } };
    const message = `resize volume "${pv.metadata!.name}" failed: cannot grow it on the server: xfs_growfs: no space left on the backing disk`;
    await expect(resizer({ backend: failing }).handle(resizeKey('team-a', 'data'))).rejects.toBeInstanceOf(ReportedError);
    expect(cluster.volumes.get(pv.metadata!.name!)!.spec?.capacity).toEqual({ storage: '1Gi' });
    const status = claimNow().status!;
    expect(status.capacity).toEqual({ storage: '1Gi' });
    expect(status.allocatedResources).toEqual({ storage: '3Gi' });
    expect(status.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Resizing', status: 'True' }),
      { type: 'ControllerResizeError', status: 'True', lastTransitionTime: '2030-01-02T03:04:05.000Z', message },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'Warning', reason: 'VolumeResizeFailed', message });

    const grown: bigint[] = [];
    await resizer({ backend: { grow: async (_name, bytes) => { grown.push(bytes); } } }).handle(resizeKey('team-a', 'data'));
    expect(grown).toEqual([3n * 1024n ** 3n]);
    expectResized('3Gi');
  });

  test('failing again the same way writes nothing more; the event of our own write does not run the key before its backoff', async () => {
    put({ request: '3Gi', capacity: '1Gi' });
    const failing: ResizeBackend = { grow: async () => { throw new Error('losetup: device busy'); } };
    const r = resizer({ backend: failing });
    const key = resizeKey('team-a', 'data');
    await expect(r.handle(key)).rejects.toBeInstanceOf(ReportedError);
    const writes = cluster.patches.length;
    expect(cluster.patches.map((p) => p.kind)).toEqual(['claim/status', 'claim/status']);

    // The informer delivers the claim as our failure write left it: not queued.
    expect(r.claimChanged(claimNow())).toBeUndefined();
    // The same version relisted later is the periodic resync: queued.
    expect(r.claimChanged(claimNow())).toBe(key);

    // The backoff retry fails the same way: a Warning again, no write.
    await expect(r.handle(key)).rejects.toBeInstanceOf(ReportedError);
    expect(cluster.patches.length).toBe(writes);
    expect(events.filter((e) => e.reason === 'VolumeResizeFailed')).toHaveLength(2);
    expect(claimNow().status?.conditions?.filter((c) => c.type === 'ControllerResizeError')).toHaveLength(1);
  });

  test('the user lowering the request after a failed grow retries at the lower size; the error condition goes', async () => {
    put({ request: '3Gi', capacity: '1Gi' });
    const asked: bigint[] = [];
    const backend: ResizeBackend = {
      grow: async (_name, bytes) => {
        asked.push(bytes);
        if (bytes > 2n * 1024n ** 3n) throw new Error('the backing disk has 2Gi free');
      },
    };
    const r = resizer({ backend });
    await expect(r.handle(resizeKey('team-a', 'data'))).rejects.toBeInstanceOf(ReportedError);
    expect(claimNow().status?.conditions?.map((c) => c.type)).toEqual(['Resizing', 'ControllerResizeError']);

    cluster.claims.put({ ...claimNow(), spec: { ...claimNow().spec, resources: { requests: { storage: '2Gi' } } } });
    await r.handle(resizeKey('team-a', 'data'));
    expect(asked).toEqual([3n * 1024n ** 3n, 2n * 1024n ** 3n]);
    expectResized('2Gi');
  });

  test('a failure that cannot be recorded (the API is down too) is still reported by event and log', async () => {
    put({ request: '3Gi', capacity: '1Gi' });
    const failing: ResizeBackend = { grow: async () => { throw new Error('xfs_growfs: I/O error'); } };
    const down = Object.assign(new Error('Service Unavailable'), { code: 503 });
    await expect(resizer({ backend: failing, api: failingOn(2, down) }).handle(resizeKey('team-a', 'data'))).rejects.toBeInstanceOf(ReportedError);
    expect(claimNow().status?.conditions?.map((c) => c.type)).toEqual(['Resizing']);
    expect(events.at(-1)).toMatchObject({ type: 'Warning', reason: 'VolumeResizeFailed', message: expect.stringContaining('xfs_growfs: I/O error') });
    expect(logs.some((l) => l.includes('cannot record the failed resize on the claim') && l.includes('503'))).toBe(true);
  });
});
