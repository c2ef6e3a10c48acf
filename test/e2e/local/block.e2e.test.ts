/**
 * Local Block volumes on a real control plane: loop devices linked into a node's discovery
 * directory are published as raw block PVs; a released one is wiped by the class's cleaner
 * (ZERO here, so every byte can be checked) and republished; one that is mounted somewhere
 * is refused, with a Warning event, and stays Released with its data.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PersistentVolumeMode } from 'cdk8s-plus-28';
import { NodeDisks, sh } from './disks';
import {
  applyLocal, cleanupCluster, createClaim, createNode, createPod, EVENT_NAMESPACE, expectedPvName, HOSTNAME_LABEL,
  release, startAgent, synthLocal, waitForAvailable, waitForScheduled,
} from './fixture';
import { BlockCleaner } from '../../../src/constructs/local';
import { writeMarker } from '../../util/device-markers';
import { connect, ControlPlane, sleep } from '../harness';
import {
  Kube, Manifests, paths, uniqueName, useControllers, waitForClaimBound, waitForEvent, waitForObject,
} from '../support';

const controllers = useControllers();
const disks = new NodeDisks('local-e2e-block');

const ns = uniqueName('local-blk');
const cls = `${ns}-raw`;
const node = `${ns}-n`;
const hostname = `${ns}-host`;
const MiB = 1024 * 1024;

let cp: ControlPlane;
let kube: Kube;
let manifests: Manifests | undefined;
let wipeDev: string;
let wipeImg: string;
let busyDev: string;

const pvNameOf = (entry: string) => expectedPvName(node, cls, entry);
const linkOf = (entry: string) => path.join(disks.hostDir(node, cls), entry);

/** `major:minor` of a device, as sysfs gives it. */
function devno(dev: string): string {
  return fs.readFileSync(`/sys/class/block/${path.basename(dev)}/dev`, 'utf8').trim();
}

beforeAll(async () => {
  cp = connect().controlPlane;
  kube = Kube.fromKubeconfig(cp.kubeconfig);
  manifests = synthLocal(ns, (p) => p.addStorageClass('raw', {
    name: cls, hostDir: '/mnt/disks/raw', volumeMode: PersistentVolumeMode.BLOCK, blockCleaner: BlockCleaner.zero(1),
  }));
  await applyLocal(cp, manifests, ns);
  await createNode(cp, node, hostname);
  disks.prepare(node, cls);
  ({ dev: wipeDev, img: wipeImg } = disks.attachLoop(`${node}-wipe`, 16));
  ({ dev: busyDev } = disks.attachLoop(`${node}-busy`, 24));
  // What an administrator does: link each disk into the discovery directory.
  disks.linkDevice(node, cls, 'disk-wipe', wipeDev);
  disks.linkDevice(node, cls, 'disk-busy', busyDev);
  await startAgent(controllers, manifests, node, disks);
});

afterAll(async () => {
  try {
    if (cp) await cleanupCluster(cp, kube, manifests, [node]);
  } finally {
    disks.cleanup();
  }
});

test('publishes each linked device as a Block volume of the device\'s exact size, recording which device it is', async () => {
  const pvs = await waitForAvailable(kube, node, ['disk-wipe', 'disk-busy'].map(pvNameOf));
  const byEntry = new Map(pvs.map((pv) => [pv.metadata.annotations['cdk8s-storage.dev/local-entry'], pv]));
  for (const [entry, dev, mb] of [['disk-wipe', wipeDev, 16], ['disk-busy', busyDev, 24]] as const) {
    const pv = byEntry.get(entry)!;
    expect(pv.spec).toMatchObject({
      volumeMode: 'Block',
      storageClassName: cls,
      persistentVolumeReclaimPolicy: 'Delete',
      capacity: { storage: String(mb * MiB) },
      local: { path: linkOf(entry) },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [hostname] }] }] } },
    });
    expect(pv.spec.mountOptions).toBeUndefined();
    expect(pv.metadata.annotations).toMatchObject({
      'cdk8s-storage.dev/local-kind': 'block',
      'cdk8s-storage.dev/local-device': devno(dev),
    });
  }
  expect(byEntry.get('disk-wipe')!.metadata.annotations['cdk8s-storage.dev/local-device-id']).toBe(`loop:${wipeImg}`);
});

test('after release the cleaner overwrites the whole device and the PV is published again', async () => {
  const pvName = pvNameOf('disk-wipe');
  await createClaim(kube, ns, 'wipe', { storageClassName: cls, request: '1Mi', block: true, volumeName: pvName });
  await createPod(kube, ns, 'wipe-app', 'wipe', { block: true });
  expect(await waitForScheduled(kube, ns, 'wipe-app')).toBe(node);
  await waitForClaimBound(kube, ns, 'wipe');
  const before = (await kube.get(paths.pv(pvName)))!;
  // The tenant's data: at the start, in the middle and in the last sector.
  for (const offset of [0, 8 * MiB + 3, 16 * MiB - 512]) writeMarker(wipeDev, 'TENANT-MARKER', offset);
  expect(fs.readFileSync(wipeDev).includes('TENANT-MARKER')).toBe(true);

  await release(kube, ns, 'wipe-app', 'wipe');
  await waitForObject(kube, paths.pv(pvName), (pv) => pv.metadata.uid !== before.metadata.uid && pv.status?.phase === 'Available');
  const content = fs.readFileSync(wipeDev);
  expect(content.length).toBe(16 * MiB);
  expect(content.includes('TENANT-MARKER')).toBe(false);
  expect(content.every((b) => b === 0)).toBe(true);
  const cleaned = await waitForEvent(kube, EVENT_NAMESPACE, pvName, 'VolumeCleaned');
  expect(cleaned.message).toContain('ZERO');
});

test('a released device that is mounted is refused: a Warning event, the PV stays Released, the data stays', async () => {
  const pvName = pvNameOf('disk-busy');
  await createClaim(kube, ns, 'busy', { storageClassName: cls, request: '1Mi', block: true, volumeName: pvName });
  await createPod(kube, ns, 'busy-app', 'busy', { block: true });
  await waitForClaimBound(kube, ns, 'busy');
  const before = (await kube.get(paths.pv(pvName)))!;
  // Someone mounts the device on the host while it is still claimed.
  sh('mkfs.ext4', ['-q', '-F', busyDev]);
  const mounted = disks.mountElsewhere(busyDev, 'busy');
  fs.writeFileSync(path.join(mounted, 'data'), 'data in use');

  await release(kube, ns, 'busy-app', 'busy');
  const refused = await waitForEvent(kube, EVENT_NAMESPACE, pvName, 'VolumeFailedDelete');
  expect(refused.type).toBe('Warning');
  expect(refused.message).toContain(`is mounted at ${mounted}`);
  expect(refused.message).toContain('stays Released');
  // It stays that way: still the same PV, Released, and the data is intact.
  await sleep(3_000);
  const after = (await kube.get(paths.pv(pvName)))!;
  expect(after.metadata.uid).toBe(before.metadata.uid);
  expect(after.status.phase).toBe('Released');
  expect(fs.readFileSync(path.join(mounted, 'data'), 'utf8')).toBe('data in use');
  expect((await kube.eventsFor(EVENT_NAMESPACE, pvName)).map((e) => e.reason)).not.toContain('VolumeCleaned');
});
