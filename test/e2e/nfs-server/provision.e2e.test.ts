/**
 * The in-cluster server as a provisioner on the real control plane: the bundled `nfs-server`
 * command runs as its pod would (private network and mount namespaces, ganesha, its bus,
 * loop images), with leader election, against the harness's API server. The namespace
 * reaches the API server through a relay over a unix socket (loopback on both sides: no
 * other address is used), and the Service's cluster IP, made by the API server, is an
 * address inside it, so the NFS client mounts exactly what the PV names.
 *
 * Proof: a 300Mi claim is Bound to its own export; NFS writes stop with NOSPC within the
 * filesystem's overhead of the size, and the claim's used-bytes annotation (statvfs) says so; an edit of the claim grows it online (the same session
 * writes past the old limit) and PV and claim say so; a grow the server cannot make leaves the
 * claim a ControllerResizeError condition saying why, and lowering the request recovers; deleting the claim removes export,
 * mount, loop device and image (onDelete DELETE).
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { NFS_SERVER_FLAGS } from '../../../src/contract/controller-config';
import { K8S, PV_ANNOTATIONS, PVC_ANNOTATIONS } from '../../../src/contract/keys';
import { CLUSTER_EVENT_NAMESPACE } from '../../../src/runtime/core/events';
import { NfsSession, pidsInMountNamespace, ServerLab } from '../../runtime/nfs-server/server-lab';
import { connect } from '../harness';
import { ensureControllerBundle, eventually, Kube, paths, waitForClaimBound, waitForGone, waitForObject } from '../support';

const MIB = 1024 * 1024;
const PROVISIONER = 'example.com/in-cluster-e2e';
const NAMESPACE = 'nfs-server-e2e';
const SERVICE = 'nfs-server';
const CLASS = 'in-cluster-e2e';

const lab = new ServerLab();
const { controlPlane: cp } = connect();
const kube = Kube.fromKubeconfig(cp.kubeconfig);
const apiPort = Number(new URL(cp.server).port);
const socket = path.join(lab.root, 'api.sock');
let hostRelay: net.Server;
let netRelay: ChildProcess;
let command: ChildProcess;
let commandNs: string;
let clusterIP: string;

/** Pipes every connection accepted by `server` to a new connection made by `dial` (the namespace side below does the same). */
function relayTo(server: net.Server, dial: () => net.Socket): net.Server {
  return server.on('connection', (c) => {
    const u = dial();
    for (const [a, b] of [[c, u], [u, c]]) {
      a.pipe(b);
      a.on('error', () => b.destroy());
    }
  });
}

const commandLog = () => (fs.existsSync(path.join(lab.root, 'command.log')) ? fs.readFileSync(path.join(lab.root, 'command.log'), 'utf8').split('\n').slice(-30).join('\n') : '');

beforeAll(async () => {
  const bundle = ensureControllerBundle();
  lab.start();
  // Host side: the unix socket leads to the API server on the host's loopback.
  hostRelay = relayTo(net.createServer(), () => net.connect(apiPort, '127.0.0.1'));
  await new Promise<void>((resolve) => hostRelay.listen(socket, resolve));
  // Namespace side: the API server's loopback address and port lead to the unix socket, so the admin kubeconfig works as it is.
  netRelay = spawn('nsenter', [`--net=${lab.netNs}`, '--', process.execPath, '-e', `
    const net = require('net');
    net.createServer((c) => {
      const u = net.connect(${JSON.stringify(socket)});
      for (const [a, b] of [[c, u], [u, c]]) { a.pipe(b); a.on('error', () => b.destroy()); }
    }).listen(${apiPort}, '127.0.0.1');`], { stdio: 'ignore' });

  await kube.ensure(paths.namespace(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  const service = await kube.ensure(`/api/v1/namespaces/${NAMESPACE}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE },
    spec: { type: 'ClusterIP', ports: [{ name: 'nfs', port: 2049, protocol: 'TCP' }], selector: { app: SERVICE } },
  }) ?? await kube.get(`/api/v1/namespaces/${NAMESPACE}/services/${SERVICE}`);
  clusterIP = (service as any).spec.clusterIP;
  // The Service's address is the server's, inside its network namespace (kube-proxy's job in a cluster).
  lab.inNet('ip', ['addr', 'add', `${clusterIP}/32`, 'dev', 'lo']);
  await kube.ensure(paths.storageClass(), {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: CLASS },
    provisioner: PROVISIONER,
    reclaimPolicy: 'Delete',
    allowVolumeExpansion: true,
    volumeBindingMode: 'Immediate',
    parameters: { onDelete: 'DELETE' },
  });

  const out = fs.openSync(path.join(lab.root, 'command.log'), 'a');
  command = spawn('nsenter', [`--net=${lab.netNs}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', process.execPath, bundle, 'nfs-server',
    `--${NFS_SERVER_FLAGS.provisionerName}=${PROVISIONER}`,
    `--${NFS_SERVER_FLAGS.serviceName}=${SERVICE}`,
    `--${NFS_SERVER_FLAGS.dataDir}=${lab.dataDir}`,
    `--${NFS_SERVER_FLAGS.ganeshaConfigDir}=${lab.configDir}`,
    `--${NFS_SERVER_FLAGS.httpPort}=8080`,
    `--${NFS_SERVER_FLAGS.usageInterval}=1`,
    `--kubeconfig=${cp.kubeconfig}`], { stdio: ['ignore', out, out], env: { ...process.env, POD_NAMESPACE: NAMESPACE, POD_NAME: 'nfs-server-0' } });
  const own = fs.readlinkSync('/proc/self/ns/mnt');
  commandNs = own;
  while (commandNs === own && command.exitCode === null) {
    await new Promise((r) => setTimeout(r, 10));
    commandNs = fs.readlinkSync(`/proc/${command.pid}/ns/mnt`);
  }
  await eventually('the command leads and has synced its caches', async () => commandLog().includes('caches synced; working'), {
    describe: commandLog,
  });
}, 300_000);

afterAll(async () => {
  await kube.delete(paths.storageClass(CLASS)).catch(() => undefined);
  await kube.delete(paths.namespace(NAMESPACE)).catch(() => undefined);
  if (command && command.exitCode === null) {
    const exited = new Promise((resolve) => command.once('exit', resolve));
    command.kill('SIGTERM');
    await exited;
  }
  // Anything left in the command's mount namespace (ganesha, the bus) goes too.
  for (const pid of commandNs ? pidsInMountNamespace(commandNs) : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch { /* gone meanwhile */ }
  }
  netRelay?.kill('SIGKILL');
  hostRelay?.close();
  await lab.cleanup();
}, 120_000);

/** Repeats an NFS command until it succeeds (a fresh ganesha refuses opens during its grace period). */
async function untilOk(session: NfsSession, line: string, tries = 600): Promise<any> {
  for (let i = 1; ; i++) {
    const answer = await session.send(line);
    if (answer.ok || i >= tries) return answer;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a claim of 300Mi through its life', () => {
  let pvName: string;
  let session: NfsSession;
  let written = 0;

  test('is Bound to its own export at the Service\'s cluster IP; NFS writes stop with NOSPC at its size', async () => {
    await kube.create(paths.pvc(NAMESPACE), {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: { storageClassName: CLASS, accessModes: ['ReadWriteMany'], resources: { requests: { storage: '300Mi' } } },
    });
    const claim = await waitForClaimBound(kube, NAMESPACE, 'data');
    pvName = claim.spec.volumeName;
    expect(pvName).toBe(`pvc-${claim.metadata.uid}`);
    const pv = (await kube.get(paths.pv(pvName)))!;
    expect(pv.spec.nfs).toEqual({ server: clusterIP, path: `/${pvName}` });
    expect(pv.spec.capacity).toEqual({ storage: '300Mi' });
    expect(pv.metadata.annotations).toMatchObject({ [K8S.provisionedBy]: PROVISIONER, [PV_ANNOTATIONS.onDelete]: 'DELETE' });

    session = await lab.session(pv.spec.nfs.path, pv.spec.nfs.server);
    const empty = await untilOk(session, 'statvfs');
    // `df` in a pod shows at least the claim's size.
    expect(empty.blocks * empty.frsize).toBeGreaterThanOrEqual(300 * MIB);
    // All but the last 16 MiB of the free space is filled inside the server (libnfs writes 3.5 KiB per call).
    const mountpoint = path.join(lab.dataDir, 'mounts', pvName);
    execFileSync('nsenter', [`--mount=/proc/${command.pid}/ns/mnt`, '--', 'fallocate', '-l', String(empty.bavail * empty.frsize - 16 * MIB), path.join(mountpoint, 'filler')]);
    const filled = await session.send('statvfs');
    const available = filled.bavail * filled.frsize;
    expect(await untilOk(session, 'create 0 /data.bin')).toMatchObject({ ok: true });
    const attempt = await session.send(`write 0 0 ${64 * MIB}`);
    expect(attempt).toMatchObject({ ok: false, errno: -28 });
    written = attempt.written;
    // Within the filesystem's overhead (its metadata) of where its free space ended.
    expect(Math.abs(available - written)).toBeLessThan(4 * MIB);
    // Usage is statvfs of the volume: the claim is annotated with the full filesystem's used bytes.
    const measured = await waitForObject(kube, paths.pvc(NAMESPACE, 'data'),
      (c) => Number(c.metadata.annotations?.[PVC_ANNOTATIONS.usedBytes] ?? 0) >= empty.bavail * empty.frsize - 4 * MIB);
    expect(Number(measured.metadata.annotations[PVC_ANNOTATIONS.usedBytes])).toBeLessThanOrEqual(empty.blocks * empty.frsize);
    process.stdout.write(`[e2e] 300Mi claim: filesystem ${(empty.blocks * empty.frsize / MIB).toFixed(1)} MiB, free when empty ${(empty.bavail * empty.frsize / MIB).toFixed(1)} MiB; ` +
      `NOSPC ${((written - available) / MIB).toFixed(3)} MiB past the free space statvfs reported\n`);
  }, 300_000);

  test('editing the claim to 600Mi grows it online: the same session writes past the old limit; PV and claim say 600Mi', async () => {
    const started = Date.now();
    await kube.patch(paths.pvc(NAMESPACE, 'data'), { spec: { resources: { requests: { storage: '600Mi' } } } });
    const claim = await waitForObject(kube, paths.pvc(NAMESPACE, 'data'), (c) => c.status?.capacity?.storage === '600Mi');
    process.stdout.write(`[e2e] edit 300Mi -> 600Mi: claim status.capacity 600Mi after ${((Date.now() - started) / 1000).toFixed(2)} s\n`);
    expect(claim.status.allocatedResourceStatuses).toBeUndefined();
    expect((await kube.get(paths.pv(pvName)))!.spec.capacity).toEqual({ storage: '600Mi' });
    const grown = await session.send('statvfs');
    expect(grown.blocks * grown.frsize).toBeGreaterThanOrEqual(600 * MIB);
    const more = await session.send(`write 0 ${written} ${32 * MIB}`);
    expect(more).toMatchObject({ ok: true, written: 32 * MIB });
  }, 300_000);

  test('a grow the server cannot make (16Pi) leaves PV and claim at 600Mi, the claim with ControllerResizeError saying why; lowering to 700Mi grows it and the condition goes', async () => {
    const hasError = (c: any) => (c.status?.conditions ?? []).some((x: any) => x.type === 'ControllerResizeError');
    await kube.patch(paths.pvc(NAMESPACE, 'data'), { spec: { resources: { requests: { storage: '16Pi' } } } });
    const failed = await waitForObject(kube, paths.pvc(NAMESPACE, 'data'), hasError);
    const error = failed.status.conditions.find((x: any) => x.type === 'ControllerResizeError');
    expect(error.status).toBe('True');
    expect(error.lastTransitionTime).toEqual(expect.any(String));
    expect(error.message).toBe(`resize volume "${pvName}" failed: cannot grow it on the server: `
      + '16Pi is more than a volume of this server can hold (at most 4Pi): lower spec.resources.requests.storage to 4Pi or less');
    expect(failed.status.conditions.map((x: any) => x.type)).toEqual(['Resizing', 'ControllerResizeError']);
    expect(failed.status.capacity).toEqual({ storage: '600Mi' });
    expect(failed.status.allocatedResources).toEqual({ storage: '16Pi' });
    expect(failed.status.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
    expect((await kube.get(paths.pv(pvName)))!.spec.capacity).toEqual({ storage: '600Mi' });
    const warning = await eventually('a VolumeResizeFailed Warning on the claim', async () =>
      (await kube.eventsFor(NAMESPACE, 'data', 'PersistentVolumeClaim')).find((e) => e.reason === 'VolumeResizeFailed'));
    expect(warning.type).toBe('Warning');
    expect(warning.message).toBe(error.message);

    await kube.patch(paths.pvc(NAMESPACE, 'data'), { spec: { resources: { requests: { storage: '700Mi' } } } });
    const grown = await waitForObject(kube, paths.pvc(NAMESPACE, 'data'), (c) => c.status?.capacity?.storage === '700Mi');
    expect(grown.status.conditions ?? []).toEqual([]);
    expect(grown.status.allocatedResourceStatuses).toBeUndefined();
    expect(grown.status.allocatedResources).toEqual({ storage: '700Mi' });
    expect((await kube.get(paths.pv(pvName)))!.spec.capacity).toEqual({ storage: '700Mi' });
    const statvfs = await session.send('statvfs');
    expect(statvfs.blocks * statvfs.frsize).toBeGreaterThanOrEqual(700 * MIB);
  }, 300_000);

  test('deleting the claim removes export, mount, loop device and image (onDelete DELETE), then the PV', async () => {
    session.close();
    const image = path.join(lab.dataDir, 'volumes', pvName, 'image');
    await kube.delete(paths.pvc(NAMESPACE, 'data'));
    await waitForGone(kube, paths.pv(pvName));
    expect(fs.existsSync(path.join(lab.dataDir, 'volumes', pvName))).toBe(false);
    expect(fs.existsSync(path.join(lab.dataDir, 'exports.d', `${pvName}.conf`))).toBe(false);
    expect(fs.existsSync(path.join(lab.dataDir, 'mounts', pvName))).toBe(false);
    expect(fs.readdirSync(path.join(lab.dataDir, 'archived'))).toEqual([]);
    const mounts = execFileSync('nsenter', [`--mount=/proc/${command.pid}/ns/mnt`, '--', 'cat', '/proc/self/mountinfo'], { encoding: 'utf8' });
    expect(mounts).not.toContain(pvName);
    expect(await lab.loopDevicesOf(image)).toBe('');
    const removed = await eventually('the PV\'s VolumeRemoved event', async () =>
      (await kube.eventsFor(CLUSTER_EVENT_NAMESPACE, pvName, 'PersistentVolume')).find((e) => e.reason === 'VolumeRemoved'));
    expect(removed.message).toContain('onDelete DELETE');
  }, 300_000);
});
