/**
 * The whole nfs command resizing against an in-memory API: provision, bind (done by hand
 * here: no PV controller runs), edit the request, and the claim reports the new size; then
 * autoGrow from measured usage to its max. (The same flows against a real API server are in
 * test/e2e/resize/.)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { claim, IDENTITY, storageClass } from './fixtures';
import { PV_ANNOTATIONS, PVC_ANNOTATIONS } from '../../../src/contract/keys';
import { parseNfsConfig } from '../../../src/runtime/nfs/flags';
import { runNfs } from '../../../src/runtime/nfs/run';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { sleep, until as pollUntil } from '../core/until';
import { MemoryApi } from '../support/memory-api';

const until = <T>(probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> => pollUntil(probe, ms);

let base: string;
let cluster: MemoryApi;
let stop: (signal: string) => void;
let exit: Promise<number>;
let port: number;

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'resize-run-'));
  cluster = new MemoryApi();
  cluster.classes.put(storageClass({ parameters: { pathPattern: '${.PVC.namespace}/${.PVC.name}', maxVolumeSize: '5Gi' }, allowVolumeExpansion: true }));
  const config = parseNfsConfig([
    '--provisioner-name=example.com/nfs', `--nfs-server=${IDENTITY.server}`, `--nfs-path=${IDENTITY.exportPath}`,
    `--root=${base}`, '--http-port=0', '--leader-elect=false', '--usage-interval-seconds=1',
  ], {});
  port = 0;
  exit = runNfs(config, new JsonLogger(() => undefined), {
    shutdownSignal: new Promise((resolve) => { stop = resolve; }),
    connect: () => cluster.clusterPorts(),
    onListening: (p) => { port = p; },
  });
});

afterEach(async () => {
  stop('SIGTERM');
  await expect(exit).resolves.toBe(0);
  fs.rmSync(base, { recursive: true, force: true });
});

/** Creates a claim, waits for its PV, and binds the two as the PV controller would. */
async function boundClaim(name: string, size: string, annotations: Record<string, string> = {}): Promise<string> {
  const uid = `uid-${name}`;
  cluster.claims.put(claim({ uid, name, namespace: 'team', annotations, spec: { resources: { requests: { storage: size } } } }));
  const pvName = `pvc-${uid}`;
  const pv = await until(() => cluster.volumes.get(pvName));
  cluster.volumes.put({ ...pv, status: { phase: 'Bound' } });
  const c = cluster.claims.get(name, 'team')!;
  cluster.claims.put({ ...c, spec: { ...c.spec, volumeName: pvName }, status: { phase: 'Bound', capacity: { storage: size }, accessModes: ['ReadWriteMany'] } });
  return pvName;
}

function edit(name: string, size: string): void {
  const c = cluster.claims.get(name, 'team')!;
  cluster.claims.put({ ...c, spec: { ...c.spec, resources: { requests: { storage: size } } } });
}

const claimNow = (name: string): V1PersistentVolumeClaim => cluster.claims.get(name, 'team')!;
const reasonsFor = (name: string) => cluster.events.filter((e) => e.involvedObject.name === name).map((e) => `${e.type} ${e.reason}`);

test('editing the request resizes: PV capacity, claim status, events; above the maximum it waits for a lower request', async () => {
  const pvName = await boundClaim('db', '1Gi');
  edit('db', '3Gi');
  await until(() => claimNow('db').status?.capacity?.storage === '3Gi');
  expect(cluster.volumes.get(pvName)?.spec?.capacity).toEqual({ storage: '3Gi' });
  expect(cluster.volumes.get(pvName)?.metadata?.annotations?.[PV_ANNOTATIONS.sizeLimit]).toBe('3Gi');
  expect(claimNow('db').status?.conditions ?? []).toEqual([]);
  await until(() => reasonsFor('db').includes('Normal VolumeResizeSuccessful'));
  expect(reasonsFor('db').filter((r) => r.includes('Resiz'))).toEqual(['Normal Resizing', 'Normal VolumeResizeSuccessful']);

  edit('db', '8Gi');
  await until(() => claimNow('db').status?.allocatedResourceStatuses?.storage === 'ControllerResizeInfeasible');
  await until(() => reasonsFor('db').includes('Warning VolumeResizeFailed'));
  expect(claimNow('db').status?.conditions?.[0]).toMatchObject({ type: 'ControllerResizeError', message: expect.stringContaining('at most 5Gi') });
  edit('db', '4Gi');
  await until(() => claimNow('db').status?.capacity?.storage === '4Gi');
  expect(claimNow('db').status?.allocatedResourceStatuses).toBeUndefined();
  expect(claimNow('db').status?.conditions ?? []).toEqual([]);

  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(await scrape()).toContain('cdk8s_storage_operations_total{kind="resize",result="succeeded"} 2');
  // The usage pass runs every second.
  await until(async () => (await scrape()).includes(`cdk8s_storage_volume_used_bytes{persistentvolume="${pvName}",namespace="team",persistentvolumeclaim="db"}`));
});

test('autoGrow: usage past the threshold grows the claim through the resize path, then one Warning at max', async () => {
  await boundClaim('cache', '1Mi', {
    [PVC_ANNOTATIONS.autoGrowThresholdPercent]: '50',
    [PVC_ANNOTATIONS.autoGrowIncrement]: '1Mi',
    [PVC_ANNOTATIONS.autoGrowMax]: '2Mi',
  });
  fs.writeFileSync(path.join(base, 'team/cache/data.bin'), Buffer.alloc(1536 * 1024, 1));
  await until(() => claimNow('cache').status?.capacity?.storage === '2Mi');
  await until(() => reasonsFor('cache').includes('Warning AutoGrowMaxReached'));
  // A few more passes: still one Warning, still 2Mi.
  await sleep(2500);
  expect(reasonsFor('cache').filter((r) => r.startsWith('Warning'))).toEqual(['Warning AutoGrowMaxReached']);
  expect(reasonsFor('cache')).toEqual(expect.arrayContaining(['Normal AutoGrowing', 'Normal Resizing', 'Normal VolumeResizeSuccessful']));
  expect(claimNow('cache').spec?.resources?.requests?.storage).toBe('2Mi');
  expect(Number(claimNow('cache').metadata?.annotations?.[PVC_ANNOTATIONS.usedBytes])).toBeGreaterThanOrEqual(1536 * 1024);
}, 20_000);
