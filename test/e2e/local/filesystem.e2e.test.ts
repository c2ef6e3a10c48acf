/**
 * Local Filesystem volumes on a real control plane: loop-mounted ext4 and XFS filesystems
 * in a node's discovery directory are published by the node agent (the built bundle, run
 * as the synthesized DaemonSet runs it, under its ServiceAccount), a WaitForFirstConsumer
 * claim takes the real scheduler to that node, and a released volume is wiped (hostile
 * symbolic links included) and comes back under the same name.
 */
import * as fs from 'fs';
import * as path from 'path';
import { mountsUnder, NodeDisks } from './disks';
import {
  applyLocal, CLASS_LABEL, cleanupCluster, createClaim, createNode, createPod, ENTRY_ANNOTATION, EVENT_NAMESPACE,
  expectedPvName, HOSTNAME_LABEL, NODE_LABEL, pvsOfNode, release, startAgent, synthLocal, waitForAvailable, waitForScheduled,
} from './fixture';
import { connect, ControlPlane } from '../harness';
import {
  ControllerProcess, eventually, Kube, KubeObject, Manifests, paths, scaled, snapshotTree, uniqueName, useControllers,
  waitForClaimBound, waitForEvent, waitForGone, waitForObject,
} from '../support';

// Declared first: its afterAll stops the agents before the disks below are taken apart.
const controllers = useControllers();
const disks = new NodeDisks('local-e2e-fs');

const ns = uniqueName('local-fs');
const cls = `${ns}-ssd`;
const nodeA = `${ns}-a`;
const nodeB = `${ns}-b`;
// Hostname labels deliberately differ from the node names: affinity must use the label.
const hostA = `${ns}-host-a`;
const hostB = `${ns}-host-b`;

let cp: ControlPlane;
let kube: Kube;
let manifests: Manifests | undefined;
let agentB: ControllerProcess;

const volumeOf = (entry: string) => path.join(disks.hostDir(nodeA, cls), entry);
const pvNameOf = (entry: string) => expectedPvName(nodeA, cls, entry);
const initial = ['ext4-vol', 'xfs-vol'];

beforeAll(async () => {
  cp = connect().controlPlane;
  kube = Kube.fromKubeconfig(cp.kubeconfig);
  manifests = synthLocal(ns, (p) => p.addStorageClass('ssd', { name: cls, hostDir: '/mnt/disks/ssd', mountOptions: ['noatime'] }));
  await applyLocal(cp, manifests, ns);
  await createNode(cp, nodeA, hostA);
  await createNode(cp, nodeB, hostB);

  for (const node of [nodeA, nodeB]) disks.prepare(node, cls);
  disks.mountImage(nodeA, cls, 'ext4-vol', 'ext4', 64);
  disks.mountImage(nodeA, cls, 'xfs-vol', 'xfs', 320);
  fs.mkdirSync(volumeOf('plain-dir'));

  await startAgent(controllers, manifests, nodeA, disks);
  agentB = await startAgent(controllers, manifests, nodeB, disks);
});

afterAll(async () => {
  try {
    if (cp) await cleanupCluster(cp, kube, manifests, [nodeA, nodeB]);
  } finally {
    disks.cleanup();
  }
});

test('publishes every mounted filesystem with its name, capacity, class and the node\'s hostname label; nothing else', async () => {
  const pvs = await waitForAvailable(kube, nodeA, initial.map(pvNameOf));
  for (const pv of pvs) {
    const entry = pv.metadata.annotations[ENTRY_ANNOTATION];
    expect(initial).toContain(entry);
    const statfs = fs.statfsSync(volumeOf(entry), { bigint: true });
    expect({ name: pv.metadata.name, capacity: pv.spec.capacity.storage }).toEqual({
      name: pvNameOf(entry),
      capacity: String(statfs.blocks * statfs.bsize),
    });
    expect(pv.spec.local).toEqual({ path: volumeOf(entry) });
    expect(pv.spec.nodeAffinity).toEqual({
      required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [hostA] }] }] },
    });
    expect(pv.spec).toMatchObject({
      storageClassName: cls,
      volumeMode: 'Filesystem',
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      mountOptions: ['noatime'],
    });
    expect(pv.metadata.labels).toMatchObject({ [NODE_LABEL]: nodeA, [CLASS_LABEL]: cls });
    // The agent's identity: its provisioner (namespace and construct id) and its node.
    expect(pv.metadata.annotations['pv.kubernetes.io/provisioned-by']).toBe(`cdk8s-storage.dev/local-agent.${ns}.local.${nodeA}`);
  }
  // Each PV has its own filesystem's size (64 MiB ext4, 320 MiB XFS), not the discovery directory's.
  expect(new Set(pvs.map((pv) => pv.spec.capacity.storage)).size).toBe(2);
  // A directory that is not a mount point is reported, not published.
  const event = await waitForEvent(kube, EVENT_NAMESPACE, nodeA, 'NotAMountPoint');
  expect(event.message).toContain(`${volumeOf('plain-dir')} is not a mount point`);
  expect(event.type).toBe('Warning');
  // Node B's agent ran a pass without errors and published nothing. Its first pass runs
  // independently of node A's, so wait for it rather than assume it is done by now.
  await eventually('node B agent ready', async () => (await agentB.http('/readyz')).status === 200);
  expect(await pvsOfNode(kube, nodeB)).toEqual([]);
});

test('a filesystem mounted while the agent runs is published within seconds, and withdrawn when unmounted', async () => {
  await waitForAvailable(kube, nodeA, initial.map(pvNameOf));
  const started = Date.now();
  disks.mountImage(nodeA, cls, 'late-vol', 'ext4', 32);
  // Not a fixed discovery loop: the mount table change triggers a pass.
  await waitForAvailable(kube, nodeA, [...initial, 'late-vol'].map(pvNameOf), scaled(8_000));
  process.stderr.write(`[local e2e] a new mount point became an Available PV in ${Date.now() - started} ms\n`);

  disks.umount(volumeOf('late-vol'));
  await waitForGone(kube, paths.pv(pvNameOf('late-vol')), { timeoutMs: scaled(8_000) });
  const withdrawn = await waitForEvent(kube, EVENT_NAMESPACE, nodeA, 'VolumeWithdrawn');
  expect(withdrawn.message).toContain(pvNameOf('late-vol'));
  fs.rmdirSync(volumeOf('late-vol'));
  await waitForAvailable(kube, nodeA, initial.map(pvNameOf));
});

test('a pod with a WaitForFirstConsumer claim is scheduled onto the node that has the volume, and the claim binds to it', async () => {
  // A control pod without volumes, with the same strong preference for node B, lands there:
  // so only the volume's node affinity can take the next pod to node A.
  await createPod(kube, ns, 'control', undefined, { preferNode: nodeB });
  expect(await waitForScheduled(kube, ns, 'control')).toBe(nodeB);
  await kube.delete(paths.pod(ns, 'control'), { gracePeriodSeconds: 0 });

  await createClaim(kube, ns, 'data', { storageClassName: cls, request: '10Mi' });
  // WaitForFirstConsumer: no pod, no binding.
  expect((await kube.get(paths.pvc(ns, 'data')))?.status?.phase).toBe('Pending');
  await createPod(kube, ns, 'app', 'data', { preferNode: nodeB });
  expect(await waitForScheduled(kube, ns, 'app')).toBe(nodeA);
  const claim = await waitForClaimBound(kube, ns, 'data');
  expect(initial.map(pvNameOf)).toContain(claim.spec.volumeName);
  const pv = await waitForObject(kube, paths.pv(claim.spec.volumeName), (v) => v.status?.phase === 'Bound');
  expect(pv.spec.claimRef).toMatchObject({ namespace: ns, name: 'data', uid: claim.metadata.uid });
});

test('deleting the pod and the claim wipes the volume and publishes it again under the same name', async () => {
  const claim = await waitForClaimBound(kube, ns, 'data');
  const before = (await kube.get(paths.pv(claim.spec.volumeName)))!;
  const volume = volumeOf(before.metadata.annotations[ENTRY_ANNOTATION]);
  fs.writeFileSync(path.join(volume, 'marker'), 'tenant data');
  fs.mkdirSync(path.join(volume, 'deep', 'er'), { recursive: true });
  fs.writeFileSync(path.join(volume, 'deep', 'er', 'file'), 'tenant data');
  fs.writeFileSync(path.join(volume, '.hidden'), 'tenant data');

  await release(kube, ns, 'app', 'data');
  const after = await waitForObject(kube, paths.pv(before.metadata.name),
    (pv) => pv.metadata.uid !== before.metadata.uid && pv.status?.phase === 'Available');
  expect(fs.existsSync(path.join(volume, 'marker'))).toBe(false);
  expect(fs.readdirSync(volume)).toEqual([]);
  // The mount point itself stays: the same filesystem, now empty.
  expect(mountsUnder(volume)).toContain(volume);
  expect(after.spec.local.path).toBe(volume);
  expect(after.spec.claimRef).toBeUndefined();
  const cleaned = await waitForEvent(kube, EVENT_NAMESPACE, before.metadata.name, 'VolumeCleaned');
  expect(cleaned.message).toContain(`emptied ${volume}`);
});

test('symbolic links in a released volume are removed as links; what they point to, outside or in another volume, is untouched', async () => {
  await waitForAvailable(kube, nodeA, initial.map(pvNameOf));
  // Data the wipe must not reach: outside every volume, and in the neighbouring volume.
  const outside = path.join(disks.root, 'outside');
  fs.mkdirSync(path.join(outside, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'precious'), 'outside data');
  fs.writeFileSync(path.join(outside, 'dir', 'file'), 'outside dir data');
  const neighbour = volumeOf('ext4-vol');
  fs.mkdirSync(path.join(neighbour, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(neighbour, 'neighbour'), 'other volume data');
  fs.writeFileSync(path.join(neighbour, 'sub', 'file'), 'other volume data');
  const snapshot = (dir: string) => [...snapshotTree(dir).entries()].sort().map(([p, kind]) => `${p}:${kind}:${kind === 'file' ? fs.readFileSync(path.join(dir, p), 'utf8') : ''}`);
  const outsideBefore = snapshot(outside);
  const neighbourBefore = snapshot(neighbour);

  // Only the XFS volume is big enough for this claim.
  await createClaim(kube, ns, 'big', { storageClassName: cls, request: '100Mi' });
  await createPod(kube, ns, 'app2', 'big');
  expect(await waitForScheduled(kube, ns, 'app2')).toBe(nodeA);
  const claim = await waitForClaimBound(kube, ns, 'big');
  expect(claim.spec.volumeName).toBe(pvNameOf('xfs-vol'));
  const before: KubeObject = (await kube.get(paths.pv(claim.spec.volumeName)))!;

  const volume = volumeOf('xfs-vol');
  const agentView = path.join(disks.agentDir(nodeA, cls), 'ext4-vol');
  const links: Array<[string, string]> = [
    ['link-to-file', path.join(outside, 'precious')],
    ['link-to-dir', path.join(outside, 'dir')],
    ['link-to-other-volume', neighbour],
    ['link-to-other-volume-as-the-agent-sees-it', agentView],
    ['link-to-file-in-other-volume', path.join(neighbour, 'neighbour')],
    ['relative-link-to-sibling', '../ext4-vol'],
    ['nested/deeper/link-to-dir', path.join(outside, 'dir')],
    ['dangling', path.join(outside, 'does-not-exist')],
  ];
  for (const [link, target] of links) {
    fs.mkdirSync(path.dirname(path.join(volume, link)), { recursive: true });
    fs.symlinkSync(target, path.join(volume, link));
  }
  fs.writeFileSync(path.join(volume, 'tenant-file'), 'tenant data');

  await release(kube, ns, 'app2', 'big');
  await waitForObject(kube, paths.pv(before.metadata.name), (pv) => pv.metadata.uid !== before.metadata.uid && pv.status?.phase === 'Available');
  expect(fs.readdirSync(volume)).toEqual([]);
  expect(snapshot(outside)).toEqual(outsideBefore);
  expect(snapshot(neighbour)).toEqual(neighbourBefore);
  // The neighbour is still published and Available, untouched.
  expect((await kube.get(paths.pv(pvNameOf('ext4-vol'))))?.status?.phase).toBe('Available');
});
