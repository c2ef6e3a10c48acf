/**
 * The whole nfs command in one process against an in-memory API: Lease, informers, queue,
 * reconciler, ops server and shutdown. (The same flows against a real API server are in
 * the end-to-end suite.)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { claim, IDENTITY, storageClass } from './fixtures';
import { K8S, PV_ANNOTATIONS } from '../../../src/contract/keys';
import { parseNfsConfig } from '../../../src/runtime/nfs/flags';
import { runNfs } from '../../../src/runtime/nfs/run';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { sleep, until } from '../core/until';
import { MemoryApi } from '../support/memory-api';


let base: string;
beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-run-'));
});
afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

test('leads, provisions, archives on release, and shuts down cleanly releasing the Lease', async () => {
  const cluster = new MemoryApi();
  cluster.classes.put(storageClass({ parameters: { onDelete: 'ARCHIVE', pathPattern: '${.PVC.namespace}/${.PVC.name}' } }));
  const config = parseNfsConfig([
    '--provisioner-name=example.com/nfs',
    `--nfs-server=${IDENTITY.server}`,
    `--nfs-path=${IDENTITY.exportPath}`,
    `--root=${base}`,
    '--http-port=0',
    '--workers=4',
  ], { POD_NAME: 'nfs-0', POD_NAMESPACE: 'storage' });

  const lines: string[] = [];
  let stop!: (signal: string) => void;
  let port = 0;
  const exit = runNfs(config, new JsonLogger((l) => lines.push(l)), {
    env: { POD_NAME: 'nfs-0' },
    shutdownSignal: new Promise((resolve) => { stop = resolve; }),
    connect: () => cluster.clusterPorts(),
    onListening: (p) => { port = p; },
  });

  await until(() => cluster.lease?.holderIdentity?.startsWith('nfs-0_'));
  const ready = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
  await until(() => port > 0);
  await until(async () => (await ready()) === 200);

  // A claim arrives: directory + PV.
  cluster.claims.put(claim({ uid: 'run-1', namespace: 'team', name: 'db' }));
  const pv = await until(() => cluster.volumes.get('pvc-run-1'));
  expect(pv.spec?.nfs).toEqual({ server: IDENTITY.server, path: `${IDENTITY.exportPath}/team/db`, readOnly: false });
  expect(pv.metadata?.annotations).toMatchObject({ [K8S.provisionedBy]: 'example.com/nfs', [PV_ANNOTATIONS.onDelete]: 'ARCHIVE' });
  expect(fs.statSync(path.join(base, 'team/db')).isDirectory()).toBe(true);
  await until(() => cluster.events.some((e) => e.reason === 'ProvisioningSucceeded'));
  fs.writeFileSync(path.join(base, 'team/db/data'), 'payload');

  // The claim is deleted; Kubernetes releases the PV; the controller archives and deletes it.
  cluster.claims.remove('db', 'team');
  cluster.volumes.put({ ...cluster.volumes.get('pvc-run-1')!, status: { phase: 'Released' } });
  await until(() => !cluster.volumes.get('pvc-run-1'));
  expect(fs.readFileSync(path.join(base, 'archived-team-db-pvc-run-1/data'), 'utf8')).toBe('payload');
  expect(fs.readdirSync(base)).toEqual(['archived-team-db-pvc-run-1']);

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(metrics).toContain('cdk8s_storage_operations_total{kind="provision",result="succeeded"} 1');
  expect(metrics).toContain('cdk8s_storage_operations_total{kind="delete",result="succeeded"} 1');
  expect(metrics).toContain('cdk8s_storage_leader 1');

  stop('SIGTERM');
  await expect(exit).resolves.toBe(0);
  expect(cluster.lease?.holderIdentity).toBeUndefined();
  const messages = lines.map((l) => JSON.parse(l).msg);
  expect(messages).toEqual(expect.arrayContaining(['started', 'became leader', 'caches synced; working', 'provision succeeded', 'delete succeeded', 'released the Lease', 'stopped']));
  expect(messages.indexOf('stopped working')).toBeLessThan(messages.indexOf('released the Lease'));
});

test('without leader election it works at once; a standby never touches the export', async () => {
  const cluster = new MemoryApi();
  cluster.classes.put(storageClass());
  cluster.claims.put(claim({ uid: 'run-2', namespace: 'team', name: 'web' }));
  // Someone else holds the Lease and keeps renewing it.
  const now = new Date();
  cluster.lease = { holderIdentity: 'other', leaseDurationSeconds: 3600, renewTime: now, acquireTime: now, resourceVersion: '1' };

  const args = ['--provisioner-name=example.com/nfs', '--nfs-server=10.0.0.5', '--nfs-path=/exports', '--http-port=0'];
  let stopStandby!: (s: string) => void;
  let standbyPort = 0;
  const standbyRoot = path.join(base, 'standby');
  fs.mkdirSync(standbyRoot);
  const standby = runNfs(parseNfsConfig([...args, `--root=${standbyRoot}`], { POD_NAMESPACE: 'storage' }), new JsonLogger(() => undefined), {
    shutdownSignal: new Promise((r) => { stopStandby = r; }),
    connect: () => cluster.clusterPorts(),
    onListening: (p) => { standbyPort = p; },
  });
  await until(() => standbyPort > 0);
  await until(async () => (await fetch(`http://127.0.0.1:${standbyPort}/readyz`)).status === 200);
  expect(await (await fetch(`http://127.0.0.1:${standbyPort}/readyz`)).text()).toBe('ok: standby\n');
  await sleep(200);
  expect(fs.readdirSync(standbyRoot)).toEqual([]);
  expect(cluster.volumes.all()).toEqual([]);
  stopStandby('SIGTERM');
  await expect(standby).resolves.toBe(0);
  expect(cluster.lease?.holderIdentity).toBe('other');

  let stopSolo!: (s: string) => void;
  const soloRoot = path.join(base, 'solo');
  fs.mkdirSync(soloRoot);
  const solo = runNfs(parseNfsConfig([...args, `--root=${soloRoot}`, '--leader-elect=false'], {}), new JsonLogger(() => undefined), {
    shutdownSignal: new Promise((r) => { stopSolo = r; }),
    connect: () => cluster.clusterPorts(),
  });
  await until(() => cluster.volumes.get('pvc-run-2'));
  // Done once it says so (the provisioning note is cleared after the PV is created).
  await until(() => cluster.events.some((e) => e.reason === 'ProvisioningSucceeded'));
  expect(fs.readdirSync(soloRoot)).toEqual(['team-web-pvc-run-2']);
  stopSolo('SIGINT');
  await expect(solo).resolves.toBe(0);
});

test('a root that does not exist is a configuration error before connecting', async () => {
  const config = parseNfsConfig(['--provisioner-name=a.io/b', '--nfs-server=h', '--nfs-path=/e', `--root=${base}/missing`, '--leader-elect=false'], {});
  let connected = false;
  await expect(runNfs(config, new JsonLogger(() => undefined), {
    shutdownSignal: new Promise(() => undefined),
    connect: () => { connected = true; return new MemoryApi().clusterPorts(); },
  })).rejects.toThrow(/--root: the NFS root .*missing does not exist/);
  expect(connected).toBe(false);
});
