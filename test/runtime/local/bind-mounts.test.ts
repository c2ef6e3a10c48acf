/**
 * Volumes that are bind mounts of directories of one disk (real loop-mounted ext4, root
 * only): they share the device, so the directory each mount shows (mountinfo's root) is part
 * of their identity, and a swap of the mounts is caught by discovery and by the wipe.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { LocalClassConfig } from '../../../src/contract/controller-config';
import { cleanVolume } from '../../../src/runtime/local/cleanup';
import { planDiscovery } from '../../../src/runtime/local/discovery';
import { MountTable } from '../../../src/runtime/local/mountinfo';
import { buildLocalPv, readRecord } from '../../../src/runtime/local/pv';
import { scanDirectory } from '../../../src/runtime/local/scan';
import { LoopLab } from '../../util/loop-lab';

const lab = new LoopLab('local-bind');
afterAll(() => lab.cleanup());

const node = { name: 'node-a', hostname: 'host-a' };
/** The one disk whose directories are the volumes. */
const disk = path.join(lab.root, 'disk');
/** The class's discovery directory. */
const disks = path.join(lab.root, 'disks');
const cls: LocalClassConfig = {
  storageClassName: 'local-shared', hostDir: '/mnt/shared', mountDir: disks, volumeMode: 'Filesystem', namePattern: '*', reclaimPolicy: 'Delete',
};
const mounts = () => MountTable.read();
const entryDir = (entry: string) => path.join(disks, entry);
const diskDir = (name: string) => path.join(disk, 'vols', name);

/** Bind-mounts directory `name` of the disk at entry `entry`. */
function bindAt(name: string, entry: string): void {
  fs.mkdirSync(entryDir(entry), { recursive: true });
  lab.bind(diskDir(name), entryDir(entry));
}

/** Publishes the discovery directory as it is now: the PVs by entry, Available. */
async function publish(): Promise<Map<string, V1PersistentVolume>> {
  const scan = await scanDirectory(disks, await mounts());
  return new Map(scan.entries.map(e => [e.name, { ...buildLocalPv(cls, node, e, 'storage/local'), status: { phase: 'Available' } }]));
}

function released(pv: V1PersistentVolume, entry: string) {
  return { type: 'clean' as const, pv: { ...pv, status: { phase: 'Released' } }, cls, entry, record: readRecord(pv)! };
}

function withoutMountRoot(pv: V1PersistentVolume): V1PersistentVolume {
  const { 'cdk8s-storage.dev/local-mount-root': _root, ...annotations } = pv.metadata?.annotations ?? {};
  return { ...pv, metadata: { ...pv.metadata, annotations } };
}

beforeAll(() => {
  lab.mountFs(disk);
  for (const name of ['a', 'b']) {
    fs.mkdirSync(diskDir(name), { recursive: true });
    fs.writeFileSync(path.join(diskDir(name), `data-of-${name}`), `tenant ${name}`);
  }
  fs.mkdirSync(disks, { recursive: true });
  bindAt('a', 'vol-a');
  bindAt('b', 'vol-b');
});

test('each bind mount is published with the same device and the directory of the disk it shows', async () => {
  const pvs = await publish();
  const [a, b] = [readRecord(pvs.get('vol-a')!)!, readRecord(pvs.get('vol-b')!)!];
  expect(a.identity).toEqual(b.identity);
  expect([a.mountRoot, b.mountRoot]).toEqual(['/vols/a', '/vols/b']);
  expect(pvs.get('vol-a')!.metadata?.annotations?.['cdk8s-storage.dev/local-mount-root']).toBe('/vols/a');
});

test('swapped bind mounts: discovery withdraws both PVs, and the wipe of A refuses to empty B, which is now at A', async () => {
  const pvs = await publish();
  const a = pvs.get('vol-a')!;
  lab.umount(entryDir('vol-a'));
  lab.umount(entryDir('vol-b'));
  bindAt('b', 'vol-a');
  bindAt('a', 'vol-b');
  try {
    const scan = await scanDirectory(disks, await mounts());
    const actions = planDiscovery({ cls, node, scan, mounts: await mounts(), existing: [...pvs.values()] });
    expect(actions.map(x => `${x.type}:${x.type === 'withdraw' ? x.reason : ''}`)).toEqual(['withdraw:VolumeIdentityChanged', 'withdraw:VolumeIdentityChanged']);

    const refused = await cleanVolume(released(a, 'vol-a'), { mounts });
    expect(refused).toEqual({
      ok: false,
      message: expect.stringMatching(/^\/mnt\/shared\/vol-a is another directory of its filesystem than PV local-\w+ was published for \(mount root recorded \/vols\/a; found \/vols\/b\); not wiped/),
    });
    expect(fs.readdirSync(diskDir('b'))).toEqual(['data-of-b']);
    expect(fs.readdirSync(diskDir('a'))).toEqual(['data-of-a']);
  } finally {
    lab.umount(entryDir('vol-a'));
    lab.umount(entryDir('vol-b'));
    bindAt('a', 'vol-a');
    bindAt('b', 'vol-b');
  }
  // Back in place, the same decision empties A's directory and only that.
  const wiped = await cleanVolume(released(a, 'vol-a'), { mounts });
  expect(wiped).toEqual({ ok: true, message: 'emptied /mnt/shared/vol-a (1 entries removed)' });
  expect(fs.readdirSync(diskDir('a'))).toEqual([]);
  expect(fs.readdirSync(diskDir('b'))).toEqual(['data-of-b']);
  fs.writeFileSync(path.join(diskDir('a'), 'data-of-a'), 'tenant a');
});

test('a PV published without its mount root is not wiped on a bind mount: nothing proves which directory it was published for', async () => {
  const legacy = withoutMountRoot((await publish()).get('vol-a')!);
  expect(readRecord(legacy)?.mountRoot).toBeUndefined();
  const result = await cleanVolume(released(legacy, 'vol-a'), { mounts });
  expect(result).toEqual({
    ok: false,
    message: expect.stringMatching(/^PV local-\w+ was published by an earlier agent version that did not record which directory of its filesystem is mounted at \/mnt\/shared\/vol-a, and it is a bind mount of \/vols\/a of its filesystem, so nothing proves it holds this volume; not wiped\. .*empty it by hand, then delete the PV \(kubectl delete pv local-\w+\)$/),
  });
  expect(fs.readdirSync(diskDir('a'))).toEqual(['data-of-a']);
});

test('a PV published without its mount root on a whole filesystem: wiped on the device check alone, refused once the filesystem is also mounted elsewhere', async () => {
  const whole = entryDir('vol-whole');
  lab.mountFs(whole);
  const legacy = withoutMountRoot((await publish()).get('vol-whole')!);
  const elsewhere = path.join(lab.root, 'elsewhere');
  fs.mkdirSync(elsewhere);
  lab.bind(whole, elsewhere);
  fs.writeFileSync(path.join(whole, 'data'), 'tenant');
  const refused = await cleanVolume(released(legacy, 'vol-whole'), { mounts });
  expect(refused).toEqual({ ok: false, message: expect.stringContaining(`its filesystem is also mounted at ${elsewhere}, so nothing proves it holds this volume; not wiped`) });
  expect(fs.readdirSync(whole).sort()).toEqual(['data', 'lost+found']);

  lab.umount(elsewhere);
  const wiped = await cleanVolume(released(legacy, 'vol-whole'), { mounts });
  expect(wiped).toEqual({ ok: true, message: 'emptied /mnt/shared/vol-whole (2 entries removed)' });
  expect(fs.readdirSync(whole)).toEqual([]);
});

test('a mount swapped in at the entry after the checks is not wiped: the wipe goes through the directory that was checked', async () => {
  const a = (await publish()).get('vol-a')!;
  // The race made deterministic: B's directory is mounted over vol-a right after the mount
  // table is read, so every check sees A while the path leads to B.
  const swapAfterReading = async () => {
    const table = await mounts();
    bindAt('b', 'vol-a');
    return table;
  };
  try {
    const result = await cleanVolume(released(a, 'vol-a'), { mounts: swapAfterReading });
    expect(result).toEqual({ ok: true, message: 'emptied /mnt/shared/vol-a (1 entries removed)' });
    expect(fs.readdirSync(diskDir('b'))).toEqual(['data-of-b']);
    expect(fs.readdirSync(diskDir('a'))).toEqual([]);
  } finally {
    lab.umount(entryDir('vol-a'));
    fs.writeFileSync(path.join(diskDir('a'), 'data-of-a'), 'tenant a');
  }
});
