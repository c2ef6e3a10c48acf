/**
 * The usage pass against an in-memory API and a real export directory: what is measured,
 * what is written (and when not), and autoGrow from first step to the one Warning at max.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { bound, classWithMax, PROVISIONER } from './resize-fixtures';
import { K8S, PVC_ANNOTATIONS } from '../../../src/contract/keys';
import { recordedDirectory } from '../../../src/runtime/nfs/delete';
import { UsageMeter } from '../../../src/runtime/nfs/usage';
import { UsageMonitor } from '../../../src/runtime/nfs/usage-monitor';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { Metrics } from '../../../src/runtime/ops/metrics';
import type { EventType } from '../../../src/runtime/ports/events';
import { MemoryApi } from '../support/memory-api';

let root: string;
let cluster: MemoryApi;
let events: Array<{ type: EventType; reason: string; message: string; name: string }>;
let metrics: Metrics;
let monitor: UsageMonitor;


beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'usage-monitor-'));
  cluster = new MemoryApi();
  cluster.classes.put(classWithMax());
  events = [];
  metrics = new Metrics();
  monitor = new UsageMonitor({
    provisionerName: PROVISIONER,
    claims: cluster.claims.lookup(),
    volumes: cluster.volumes.lookup(),
    classes: cluster.classes.lookup(),
    meter: new UsageMeter(root, { budgetMs: 60_000 }),
    api: cluster.claimPatcher(),
    events: { emit: (ref, type, reason, message) => events.push({ type, reason, message, name: ref.name }) },
    metrics,
    log: new JsonLogger(() => undefined),
    intervalMs: 20,
  });
});
afterEach(async () => {
  await monitor.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** A bound claim and PV in the API, and the volume's directory on the export. */
function put(options: Parameters<typeof bound>[0] = {}): { claim: V1PersistentVolumeClaim; pv: V1PersistentVolume; dir: string } {
  const { claim, pv } = bound(options);
  const dir = path.join(root, recordedDirectory(pv)!);
  fs.mkdirSync(dir, { recursive: true });
  return { claim: cluster.claims.put(claim), pv: cluster.volumes.put(pv), dir };
}

const fill = (dir: string, name: string, bytes: number) => fs.writeFileSync(path.join(dir, name), Buffer.alloc(bytes, 1));
const claimNow = (name = 'data') => cluster.claims.get(name, 'team-a')!;
const gauge = async () => (metrics.registry.getSingleMetricAsString('cdk8s_storage_volume_used_bytes'));

test('measures our volumes: gauge and annotations; an unchanged value is not written again', async () => {
  const { pv, dir } = put();
  fill(dir, 'a.bin', 300_000);
  await monitor.runPass();

  const used = claimNow().metadata?.annotations?.[PVC_ANNOTATIONS.usedBytes];
  expect(Number(used)).toBeGreaterThanOrEqual(300_000);
  expect(claimNow().metadata?.annotations?.[PVC_ANNOTATIONS.usedMeasuredAt]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(await gauge()).toContain(`cdk8s_storage_volume_used_bytes{persistentvolume="${pv.metadata!.name}",namespace="team-a",persistentvolumeclaim="data"} ${used}`);
  expect(cluster.patches.map((p) => [p.kind, p.resourceVersion])).toEqual([['claim', undefined]]);

  await monitor.runPass();
  expect(cluster.patches).toHaveLength(1);
  expect(events).toEqual([]);
});

test('volumes that are not ours, not bound, or bound to another claim are not measured or written', async () => {
  const foreign = put({ name: 'foreign', uid: 'f-1' });
  cluster.volumes.put({ ...foreign.pv, metadata: { ...foreign.pv.metadata, annotations: { ...foreign.pv.metadata!.annotations, [K8S.provisionedBy]: 'someone/else' } } });
  const released = put({ name: 'released', uid: 'r-1' });
  cluster.volumes.put({ ...released.pv, status: { phase: 'Released' } });
  const moved = put({ name: 'moved', uid: 'm-1' });
  cluster.claims.put({ ...moved.claim, metadata: { ...moved.claim.metadata, uid: 'a-new-claim-with-that-name' } });
  for (const d of [foreign.dir, released.dir, moved.dir]) fill(d, 'x', 10_000);

  expect(monitor.targets()).toEqual([]);
  await monitor.runPass();
  expect(cluster.patches).toEqual([]);
  expect(await gauge()).not.toContain('volume=');
});

test('a volume that goes away loses its series', async () => {
  const { pv } = put();
  await monitor.runPass();
  expect(await gauge()).toContain(pv.metadata!.name);
  cluster.volumes.remove(pv.metadata!.name!);
  await monitor.runPass();
  expect(await gauge()).not.toContain(pv.metadata!.name);
});

test('autoGrow: grows by the increment with the claim\'s resourceVersion, then at max warns exactly once', async () => {
  const annotations = {
    [PVC_ANNOTATIONS.autoGrowThresholdPercent]: '50',
    [PVC_ANNOTATIONS.autoGrowIncrement]: '1Mi',
    [PVC_ANNOTATIONS.autoGrowMax]: '2Mi',
  };
  const { dir } = put({ capacity: '1Mi', annotations });
  fill(dir, 'a.bin', 700 * 1024);
  const before = claimNow().metadata!.resourceVersion;
  await monitor.runPass();

  expect(claimNow().spec?.resources?.requests?.storage).toBe('2Mi');
  const grow = cluster.patches.find((p) => (p.patch as any).spec);
  expect(grow?.resourceVersion).toBeDefined();
  expect(grow?.resourceVersion).not.toBe(before); // the usage annotations were written first
  expect(events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'AutoGrowing', message: expect.stringMatching(/raising the request from 1Mi to 2Mi \(max 2Mi\)/) })]);

  // While the resize is under way nothing more happens.
  await monitor.runPass();
  expect(events).toHaveLength(1);

  // The resizer finishes (status.capacity 2Mi); the volume fills further.
  cluster.claims.put({ ...claimNow(), status: { ...claimNow().status, capacity: { storage: '2Mi' } } });
  fill(dir, 'b.bin', 700 * 1024);
  await monitor.runPass();
  expect(claimNow().metadata?.annotations?.[PVC_ANNOTATIONS.autoGrowAtMax]).toBe('2Mi');
  expect(events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Normal AutoGrowing', 'Warning AutoGrowMaxReached']);
  expect(events[1].message).toMatch(/has reached autoGrow.max 2Mi; autoGrow stops here/);

  // Further passes, and a fresh controller (the marker is on the claim): silence, no growth.
  await monitor.runPass();
  await monitor.runPass();
  expect(events).toHaveLength(2);
  expect(claimNow().spec?.resources?.requests?.storage).toBe('2Mi');
});

test('a user edit racing autoGrow wins: the growth patch conflicts and nothing is reported', async () => {
  const { dir } = put({
    capacity: '1Mi',
    annotations: {
      [PVC_ANNOTATIONS.autoGrowThresholdPercent]: '10',
      [PVC_ANNOTATIONS.autoGrowIncrement]: '1Mi',
      [PVC_ANNOTATIONS.autoGrowMax]: '4Mi',
      [PVC_ANNOTATIONS.usedBytes]: '999999999',
      [PVC_ANNOTATIONS.usedMeasuredAt]: new Date().toISOString(),
    },
  });
  fill(dir, 'a.bin', 500 * 1024);
  const real = cluster.claimPatcher();
  const racing = {
    ...real,
    patchClaim: async (ns: string, name: string, patch: any, rv?: string) => {
      if (patch.spec) cluster.claims.put({ ...claimNow(), metadata: { ...claimNow().metadata, labels: { edited: 'by-user' } } });
      return real.patchClaim(ns, name, patch, rv);
    },
  };
  (monitor as any).deps = { ...(monitor as any).deps, api: racing };
  await monitor.runPass();
  expect(claimNow().spec?.resources?.requests?.storage).toBe('1Mi');
  expect(events).toEqual([]);
});

test('a broken policy is reported once, not every pass', async () => {
  const { dir } = put({ annotations: { [PVC_ANNOTATIONS.autoGrowThresholdPercent]: '150' } });
  fill(dir, 'a', 10);
  await monitor.runPass();
  await monitor.runPass();
  expect(events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'AutoGrowPolicyInvalid', message: expect.stringContaining('"150"') })]);
});

test('start() runs passes on the interval until stop()', async () => {
  const { dir } = put({ capacity: '1Mi' });
  fill(dir, 'a', 10);
  monitor.start();
  const deadline = Date.now() + 5000;
  const used = () => Number(claimNow().metadata?.annotations?.[PVC_ANNOTATIONS.usedBytes] ?? 0);
  const wait = () => new Promise((r) => setTimeout(r, 10));
  while (used() === 0 && Date.now() < deadline) await wait();
  fill(dir, 'b', 300_000);
  while (used() < 300_000 && Date.now() < deadline) await wait();
  expect(Number(claimNow().metadata?.annotations?.[PVC_ANNOTATIONS.usedBytes])).toBeGreaterThanOrEqual(300_000);
  await monitor.stop();
  const writes = cluster.patches.length;
  fill(dir, 'c', 300_000);
  await new Promise((r) => setTimeout(r, 100));
  expect(cluster.patches.length).toBe(writes);
});
