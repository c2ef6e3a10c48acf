/**
 * The in-cluster NFS server on the real node: NfsProvisioner with NfsServer.inCluster (a
 * hostPath on the test node, loop-image volumes) and an NfsStorageClass are synthesized,
 * their configuration (Namespace, ServiceAccount, RBAC, Service, PodDisruptionBudget,
 * StorageClass) applied as synthesized, and the StatefulSet runs as a pod from the server
 * image (ganesha, its bus and the `nfs-server` command, privileged for loop devices).
 *
 * Proof: the pod turns Ready through its own readiness probe (/readyz: an NFS NULL call
 * through ganesha); a claim of the class is Bound to a PV naming the Service's cluster IP and
 * `/<pv>`, whose XFS image is loop-mounted inside the pod's mount namespace (and not on the
 * host); a file written through NFS (libnfs) lands in that image; deleting the pod makes the
 * StatefulSet start another, which mounts and serves the volume again with the file in it;
 * scaled to zero while another program takes the volume's loop device and back, the server
 * serves it from another device and a client's file handle from before still answers;
 * deleting the claim removes export, mount, loop device and image, then the PV; `kubectl
 * logs` of the pod is JSON lines with no 403.
 *
 * Stand-ins (nfsServerOnTestNode, nfs-server-pods.ts): the locally loaded image with
 * imagePullPolicy Never; a toleration of the node's taint; the host network with
 * KUBERNETES_SERVICE_HOST=127.0.0.1 and the API port (pods here have only `lo`, the API
 * server listens on loopback), the HTTP probes aimed at 127.0.0.1, so the HTTP port moves off
 * 8080 and the NFS port off 2049 (`--nfs-port`, where the suite's own nfs-ganesha usually
 * listens) to free ones. The NFS client is libnfs on this machine's loopback at that port,
 * standing in for kube-proxy's translation of the cluster IP: nothing here may send to the
 * cluster IP, which is routed off this machine. The server's namespace is `privileged` as
 * synthesized (createNamespace), so no relabelling is needed.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { containerStatus, isReady, podLogs, podsOf, removeControllerPods, waitForReadyPods } from './nfs-controller-pods';
import { insideRoot, mountsOf, nfsServerOnTestNode } from './nfs-server-pods';
import { NfsProvisioner, NfsServer, NfsStorageClass, OnDelete } from '../../../src/constructs/nfs';
import { K8S } from '../../../src/contract/keys';
import { buildNfsSession, NfsSession, untilOk } from '../../runtime/nfs-server/server-lab';
import { connect, ControlPlane, ensureServerImage, TEST_NODE_NAME, TestNode } from '../harness';
import { freePort } from '../harness/proc';
import {
  applyManifests, assertNoForbidden, deleteManifests, eventually, Kube, KubeObject, LogEntry, Manifests, paths, synth,
  waitForClaimBound, waitForGone,
} from '../support';

const suffix = Date.now().toString(36);
const NAMESPACE = `nfs-server-pod-${suffix}`;
const CLAIMS = `nfs-server-claims-${suffix}`;
const PROVISIONER = `e2e.example.com/server-pod-${suffix}`;
const CLASS = `nfs-server-pod-${suffix}`;
const MIB = 1024 * 1024;
const CONTENT = `written through NFS into the server pod ${suffix}\n`;

let cp: ControlPlane;
let kube: Kube;
let node: TestNode;
let manifests: Manifests;
let statefulSet: KubeObject;
let work: string;
let hostDir: string;
let clusterIP: string;
let nfsPort: number;
let httpPort: number;
let pvName: string;
/** The volume image's identity on the host, to find the loop devices that hold it after it is gone. */
let imageId: { ino: number; majMin: string };

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

/** A file on the server's NFS export as libnfs addresses it: loopback, the pod's NFS port. */
function nfsUrl(p: string): string {
  return `nfs://127.0.0.1${p}?version=4&nfsport=${nfsPort}`;
}

/**
 * Runs a libnfs tool until it succeeds: a freshly started ganesha answers opens with
 * NFS4ERR_GRACE during its grace period (20 s at most; ended early once known clients reclaimed).
 */
async function nfsUntilOk(tool: string, args: string[]): Promise<{ stdout: string; tries: number; since: number }> {
  const since = Date.now();
  let last = '';
  let tries = 0;
  const stdout = await eventually(`${tool} ${args.join(' ')} to succeed`, async () => {
    tries++;
    const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 30_000 });
    last = `exit ${r.status}: ${r.stderr}`;
    return r.status === 0 ? r.stdout : undefined;
  }, { intervalMs: 500, describe: () => last });
  return { stdout, tries, since };
}

/** Loop devices whose backing file is this inode on this device (the file itself may be gone). */
function loopDevicesHolding(id: { ino: number; majMin: string }): string[] {
  const out = execFileSync('losetup', ['-l', '-J', '-O', 'NAME,BACK-INO,BACK-MAJ:MIN'], { encoding: 'utf8' }).trim();
  const devices: Array<Record<string, string | number>> = out === '' ? [] : JSON.parse(out).loopdevices;
  return devices.filter((d) => Number(d['back-ino']) === id.ino && String(d['back-maj:min']).trim() === id.majMin).map((d) => String(d.name));
}

/** A file's inode and device, as losetup reports a backing file's. */
function fileId(file: string): { ino: number; majMin: string } {
  const [ino, majMin] = execFileSync('stat', ['-c', '%i %Hd:%Ld', file], { encoding: 'utf8' }).trim().split(' ');
  return { ino: Number(ino), majMin };
}

async function serverPod(): Promise<KubeObject> {
  const [pod] = await waitForReadyPods(kube, statefulSet, 1);
  return pod;
}

/** The host pid of the server container's first process (the `nfs-server` command). */
async function commandPid(pod: KubeObject): Promise<number> {
  return node.containerPid(containerStatus(pod).containerID);
}

beforeAll(async () => {
  ({ controlPlane: cp, node } = connect());
  kube = Kube.fromKubeconfig(cp.kubeconfig);
  const found = Date.now();
  const archive = ensureServerImage();
  const imported = Date.now();
  const image = await node.importImage(archive);
  console.log(`[node] server image ${image}: built or found and saved in ${((imported - found) / 1000).toFixed(1)}s, imported into the node in ${seconds(imported)}`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-server-pod-'));
  // Created by the kubelet (hostPath DirectoryOrCreate), as on a real node.
  hostDir = path.join(work, 'backing');
  manifests = synth((scope) => {
    const provisioner = new NfsProvisioner(scope, 'nfs', {
      server: NfsServer.inCluster({ hostPath: hostDir, hostPathNode: TEST_NODE_NAME, image }),
      namespace: NAMESPACE,
      createNamespace: true,
      provisionerName: PROVISIONER,
    });
    new NfsStorageClass(scope, 'files', { provisioner, name: CLASS, onDelete: OnDelete.DELETE });
  });
  await applyManifests(cp, manifests, { workloads: 'skip' });
  await kube.ensure(paths.namespace(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CLAIMS } });
  // The Service the API server gave an IP: the address the PVs must name.
  const service = manifests.one('Service', manifests.one('StatefulSet').spec.serviceName);
  clusterIP = (await kube.get(`/api/v1/namespaces/${NAMESPACE}/services/${service.metadata.name}`))!.spec.clusterIP;
  [httpPort, nfsPort] = [await freePort(), await freePort()];
  statefulSet = nfsServerOnTestNode(manifests.one('StatefulSet'), {
    image,
    apiPort: Number(new URL(cp.server).port),
    httpPort,
    nfsPort,
  });
}, 30 * 60_000);

afterAll(async () => {
  try {
    // The claim first, while the server runs, so it removes the volume itself.
    if (kube) {
      await kube.delete(paths.pvc(CLAIMS, 'data')).catch(() => undefined);
      if (pvName) await waitForGone(kube, paths.pv(pvName)).catch(() => undefined);
    }
    if (cp && statefulSet) await removeControllerPods(cp, kube, [statefulSet]);
  } finally {
    if (cp && manifests) await deleteManifests(cp, manifests);
    await kube?.delete(paths.namespace(CLAIMS)).catch(() => undefined);
    if (work) {
      // A volume left by a failed test: its loop device (released with the pod's mounts,
      // shortly after its last process), and its mountpoint's immutable bit.
      const volumes = path.join(hostDir, 'volumes');
      for (const pv of fs.existsSync(volumes) ? fs.readdirSync(volumes) : []) {
        const image = path.join(volumes, pv, 'image');
        if (!fs.existsSync(image)) continue;
        const id = fileId(image);
        await eventually(`the loop devices of ${image} to be released`, async () => loopDevicesHolding(id).length === 0, { timeoutMs: 30_000 })
          .catch(() => loopDevicesHolding(id).forEach((d) => spawnSync('losetup', ['-d', d])));
      }
      const mounts = path.join(hostDir, 'mounts');
      for (const name of fs.existsSync(mounts) ? fs.readdirSync(mounts) : []) spawnSync('chattr', ['-i', path.join(mounts, name)]);
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
}, 300_000);

test('the StatefulSet\'s pod runs the server from its image and turns Ready through its own readiness probe (/readyz: an NFS NULL call through ganesha)', async () => {
  const applied = Date.now();
  await cp.applyYaml(statefulSet);
  const pod = await serverPod();
  console.log(`[node] server pod Ready ${seconds(applied)} after apply`);
  const container = pod.spec.containers[0];
  expect(pod.metadata.name).toBe(`${statefulSet.metadata.name}-0`);
  expect(pod.spec.nodeName).toBe(TEST_NODE_NAME);
  expect(containerStatus(pod).restartCount).toBe(0);
  // As synthesized: privileged (loop devices), read-only root, the hostPath backing storage.
  expect(container.securityContext).toMatchObject({ privileged: true, readOnlyRootFilesystem: true, runAsUser: 0 });
  expect(pod.spec.volumes.find((v: KubeObject) => v.name === 'data').hostPath).toEqual({ path: hostDir, type: 'DirectoryOrCreate' });
  expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
  // What the probe saw, asked again: ganesha answers an NFS NULL call at the pod's NFS port.
  const readyz = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
  expect(readyz.status).toBe(200);
  expect(await readyz.text()).toMatch(/ganesha answers NFS/);
  // Its layout is on the node's directory (the pod made it through the hostPath).
  expect(fs.readdirSync(hostDir)).toEqual(expect.arrayContaining(['volumes', 'mounts', 'exports.d', 'ganesha']));
});

test('a claim of the class is Bound to a PV at the Service\'s cluster IP and /<pv>; its XFS image is loop-mounted inside the pod only', async () => {
  const pod = await serverPod();
  const created = Date.now();
  await kube.create(paths.pvc(CLAIMS), {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data' },
    spec: { storageClassName: CLASS, accessModes: ['ReadWriteMany'], resources: { requests: { storage: '300Mi' } } },
  });
  const claim = await waitForClaimBound(kube, CLAIMS, 'data');
  console.log(`[node] claim Bound ${seconds(created)} after it was created`);
  pvName = claim.spec.volumeName;
  expect(pvName).toBe(`pvc-${claim.metadata.uid}`);
  const pv = (await kube.get(paths.pv(pvName)))!;
  expect(clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  expect(pv.spec.nfs).toEqual({ server: clusterIP, path: `/${pvName}` });
  expect(pv.spec.capacity).toEqual({ storage: '300Mi' });
  expect(pv.metadata.annotations[K8S.provisionedBy]).toBe(PROVISIONER);

  const image = path.join(hostDir, 'volumes', pvName, 'image');
  // Claim + XFS log, whole MiB (docs/server.md, Sizes).
  expect(fs.statSync(image).size).toBeGreaterThanOrEqual(300 * MIB);
  imageId = fileId(image);
  const pid = await commandPid(pod);
  const mount = mountsOf(pid).find((m) => m.mountPoint === `/data/mounts/${pvName}`);
  expect(mount).toMatchObject({ fsType: 'xfs', source: expect.stringMatching(/^\/dev\/loop\d+$/) });
  expect(loopDevicesHolding(imageId)).toEqual([mount!.source]);
  // No mount propagation: the node's own mount table does not have it.
  expect(mountsOf(process.pid).filter((m) => m.mountPoint.includes(pvName))).toEqual([]);
});

test('a file written through NFS (libnfs at the pod\'s NFS port) lands in the volume\'s image inside the pod', async () => {
  const pod = await serverPod();
  const local = path.join(work, 'hello.txt');
  fs.writeFileSync(local, CONTENT);
  const copy = await nfsUntilOk('nfs-cp', [local, nfsUrl(`/${pvName}/hello.txt`)]);
  console.log(`[node] first NFS write succeeded ${seconds(copy.since)} after the first try (${copy.tries} tries: ganesha's grace)`);
  expect((await nfsUntilOk('nfs-ls', [nfsUrl(`/${pvName}`)])).stdout).toMatch(/hello\.txt/);
  // Read inside the pod's mounts: the file is in the loop-mounted image, not beside it.
  const pid = await commandPid(pod);
  expect(fs.readFileSync(insideRoot(pid, `/data/mounts/${pvName}/hello.txt`), 'utf8')).toBe(CONTENT);
  expect(fs.readdirSync(path.join(hostDir, 'mounts', pvName))).toEqual([]);
});

test('deleting the pod: the StatefulSet starts another, which mounts and serves the volume again, with its data', async () => {
  const old = await serverPod();
  const deleted = Date.now();
  await cp.kubectl(['delete', 'pod', old.metadata.name, '-n', NAMESPACE, '--wait=true']);
  const pod = await eventually('a new Ready server pod', async () => {
    const pods = await podsOf(kube, statefulSet);
    return pods.length === 1 && pods[0].metadata.uid !== old.metadata.uid && isReady(pods[0]) ? pods[0] : undefined;
  });
  console.log(`[node] new server pod Ready ${seconds(deleted)} after the old one's deletion`);
  const pid = await commandPid(pod);
  const mount = mountsOf(pid).find((m) => m.mountPoint === `/data/mounts/${pvName}`);
  expect(mount).toMatchObject({ fsType: 'xfs', source: expect.stringMatching(/^\/dev\/loop\d+$/) });
  expect(fs.readFileSync(insideRoot(pid, `/data/mounts/${pvName}/hello.txt`), 'utf8')).toBe(CONTENT);
  // The old pod's loop device went with its mounts: only the new one holds the image.
  await eventually('one loop device on the image', async () => loopDevicesHolding(imageId).length === 1);
  expect(loopDevicesHolding(imageId)).toEqual([mount!.source]);
  const read = await nfsUntilOk('nfs-cat', [nfsUrl(`/${pvName}/hello.txt`)]);
  console.log(`[node] NFS read after the restart succeeded ${seconds(read.since)} after the first try (${read.tries} tries)`);
  expect(read.stdout).toBe(CONTENT);
});

test('a client\'s file handle from before answers after the server comes back on another loop device', async () => {
  const old = await serverPod();
  const device = mountsOf(await commandPid(old)).find((m) => m.mountPoint === `/data/mounts/${pvName}`)!.source;
  const bin = path.join(work, 'nfs-session');
  buildNfsSession(bin);
  const session = new NfsSession(spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NFS_PORT: String(nfsPort) } }));
  let squatter = '';
  try {
    expect(await session.send(`mount 127.0.0.1 /${pvName}`)).toEqual({ ok: true });
    expect((await untilOk(session, 'open 0 /hello.txt', 300)).answer).toEqual({ ok: true });
    const before = await session.send('fstat 0');
    expect(before).toMatchObject({ ok: true, size: CONTENT.length });

    // Down, and while it is, another program on the node takes the volume's loop device.
    const name = statefulSet.metadata.name;
    await cp.kubectl(['scale', 'statefulset', name, '-n', NAMESPACE, '--replicas=0']);
    await eventually('no server pod', async () => (await podsOf(kube, statefulSet)).length === 0);
    await eventually('the volume\'s loop device released', async () => loopDevicesHolding(imageId).length === 0, { timeoutMs: 60_000 });
    const file = path.join(work, 'squatter.img');
    execFileSync('truncate', ['-s', '1M', file]);
    squatter = execFileSync('losetup', ['--show', device, file], { encoding: 'utf8' }).trim();
    expect(squatter).toBe(device);
    const scaled = Date.now();
    await cp.kubectl(['scale', 'statefulset', name, '-n', NAMESPACE, '--replicas=1']);
    const pod = await serverPod();
    const now = mountsOf(await commandPid(pod)).find((m) => m.mountPoint === `/data/mounts/${pvName}`)!.source;
    console.log(`[node] server pod Ready ${seconds(scaled)} after scaling back; the volume moved from ${device} to ${now}`);
    expect(now).not.toBe(device);

    const mounted = await untilOk(session, `reconnect 127.0.0.1 /${pvName}`, 300);
    expect(mounted.answer).toEqual({ ok: true });
    const after = await untilOk(session, 'fstat 0', 30);
    expect(after.answer).toMatchObject({ ok: true, ino: before.ino, size: before.size });
  } finally {
    session.close();
    if (squatter) spawnSync('losetup', ['-d', squatter]);
  }
});

test('deleting the claim removes export, mount, loop device and image (onDelete DELETE), then the PV', async () => {
  const pod = await serverPod();
  const deleted = Date.now();
  await kube.delete(paths.pvc(CLAIMS, 'data'));
  await waitForGone(kube, paths.pv(pvName));
  console.log(`[node] PV gone ${seconds(deleted)} after the claim's deletion`);
  expect(fs.existsSync(path.join(hostDir, 'volumes', pvName))).toBe(false);
  expect(fs.existsSync(path.join(hostDir, 'exports.d', `${pvName}.conf`))).toBe(false);
  expect(fs.existsSync(path.join(hostDir, 'mounts', pvName))).toBe(false);
  expect(mountsOf(await commandPid(pod)).filter((m) => m.mountPoint.includes(pvName))).toEqual([]);
  await eventually('no loop device on the removed image', async () => loopDevicesHolding(imageId).length === 0);
  const gone = spawnSync('nfs-ls', [nfsUrl(`/${pvName}`)], { encoding: 'utf8', timeout: 30_000 });
  expect(gone.status).not.toBe(0);
});

test('kubectl logs of the server pod is JSON lines, with no 403', async () => {
  const pod = await serverPod();
  const lines = await podLogs(cp, pod);
  expect(lines.length).toBeGreaterThan(0);
  // ganesha and the bus write to the container's output too: every line must still be JSON.
  expect(lines.filter((l) => l.entry === undefined).map((l) => l.text)).toEqual([]);
  const entries = lines.map((l) => l.entry).filter((e): e is LogEntry => e !== undefined);
  // This pod (the third) served the volume, provisioned nothing new and deleted it.
  expect(entries.map((e) => e.msg)).toEqual(expect.arrayContaining(['serving', 'provisioning', 'deleted']));
  // ganesha's lines are entries of their own, at its severity.
  expect(entries.find((e) => e.child === 'ganesha.nfsd' && e.msg === 'NFS SERVER INITIALIZED')).toMatchObject({ level: 'info', severity: 'EVENT' });
  // ganesha found the filesystem of every export (it reads the mount table from /etc/mtab).
  expect(entries.filter((e) => /setmntent|Could not create export/.test(String(e.msg))).map((e) => e.msg)).toEqual([]);
  // A start, a volume served and deleted: nothing a reader should take for a fault (ganesha's
  // start-up lines that are none here are debug entries, not shown at the default level).
  expect(entries.filter((e) => e.level === 'error' || e.level === 'warn').map((e) => e.msg)).toEqual([]);
  assertNoForbidden(lines, 'kubectl logs of the server pod');
});
