import type { V1PersistentVolume } from '@kubernetes/client-node';
import { planCleanup } from '../../../src/controller/local/cleanup';
import { DiscoveryAction, DiscoveryInput, planDiscovery } from '../../../src/controller/local/discovery';
import { planNodeCleanup } from '../../../src/controller/local/node-cleanup';
import { buildLocalPv, localPvName } from '../../../src/controller/local/pv';
import type { ScannedEntry } from '../../../src/controller/local/scan';
import type { LocalClassConfig } from '../../../src/shared/controller-config';

const fsClass: LocalClassConfig = {
  storageClassName: 'local-fs',
  hostDir: '/mnt/disks',
  mountDir: '/discovery',
  volumeMode: 'Filesystem',
  namePattern: 'vol*',
  reclaimPolicy: 'Delete',
};
const blockClass: LocalClassConfig = {
  storageClassName: 'local-block',
  hostDir: '/mnt/blocks',
  mountDir: '/discovery-blocks',
  volumeMode: 'Block',
  namePattern: '*',
  reclaimPolicy: 'Delete',
  blockCleaner: { kind: 'ZERO' },
};
const node = { name: 'node-a', hostname: 'host-a' };

function dir(name: string, devno = '7:1', capacityBytes = 1000n): ScannedEntry {
  return { name, kind: 'dir', path: `/discovery/${name}`, identity: { devno, stableId: `loop:/${name}.img` }, capacityBytes };
}

function input(entries: ScannedEntry[], existing: V1PersistentVolume[] = [], mounted = entries.map(e => e.name), cls = fsClass): DiscoveryInput {
  const points = new Set(mounted.map(n => `${cls.mountDir}/${n}`));
  return { cls, node, scan: { dir: cls.mountDir, entries }, mounts: { isMountPoint: p => points.has(p) }, existing };
}

function published(entry: ScannedEntry, phase?: string, extra: Partial<V1PersistentVolume['spec']> = {}, cls = fsClass): V1PersistentVolume {
  const pv = buildLocalPv(cls, node, entry);
  return {
    ...pv,
    metadata: { ...pv.metadata, uid: `uid-${entry.name}`, resourceVersion: '7' },
    spec: { ...pv.spec, ...extra },
    ...(phase ? { status: { phase } } : {}),
  };
}

const summary = (actions: DiscoveryAction[]) => actions.map(a => `${a.type}:${a.type === 'create' || a.type === 'skip' ? a.entry : a.pv.metadata?.name}:${a.type === 'create' ? '' : a.reason}`);

describe('planDiscovery', () => {
  test('publishes mount points matching the pattern; skips plain directories and other entries with a reason; ignores non-matching names', () => {
    const actions = planDiscovery(input([
      dir('vol1'), dir('vol2'), dir('vol-plain'),
      { name: 'vol-file', kind: 'other', path: '/discovery/vol-file', detail: 'a regular file' },
      dir('lost+found'),
    ], [], ['vol1', 'vol2']));
    expect(summary(actions)).toEqual([
      'create:vol1:', 'create:vol2:', 'skip:vol-plain:NotAMountPoint', 'skip:vol-file:UnsupportedEntry',
    ]);
    const plain = actions.find(a => a.type === 'skip' && a.entry === 'vol-plain');
    expect(plain && 'message' in plain && plain.message).toMatch(/\/mnt\/disks\/vol-plain is not a mount point; .*mount --bind \/mnt\/disks\/vol-plain \/mnt\/disks\/vol-plain/);
    const create = actions[0];
    expect(create.type === 'create' && create.pv.metadata?.name).toBe(localPvName('node-a', 'local-fs', 'vol1'));
  });

  test('nothing to do when every entry is already published', () => {
    const e = dir('vol1');
    expect(planDiscovery(input([e], [published(e, 'Available')]))).toEqual([]);
    expect(planDiscovery(input([e], [published(e, 'Bound', { claimRef: { name: 'c', namespace: 'n' } })]))).toEqual([]);
  });

  test('a vanished or unmounted entry: Available PV withdrawn, bound PV reported and kept, Released left to cleanup', () => {
    const [a, b, c, d] = ['vol-a', 'vol-b', 'vol-c', 'vol-d'].map(n => dir(n));
    const existing = [
      published(a, 'Available'),
      published(b, 'Bound', { claimRef: { name: 'data', namespace: 'app' } }),
      published(c, 'Released', { claimRef: { name: 'old', namespace: 'app' } }),
      published(d, 'Available'),
    ];
    // vol-a gone, vol-b gone, vol-c gone, vol-d still there but no longer mounted.
    const actions = planDiscovery(input([dir('vol-d')], existing, []));
    expect(summary(actions)).toEqual([
      `withdraw:${existing[0].metadata?.name}:VolumeWithdrawn`,
      `report:${existing[1].metadata?.name}:VolumeEntryMissing`,
      `withdraw:${existing[3].metadata?.name}:VolumeWithdrawn`,
    ]);
    expect(actions[1].type === 'report' && actions[1].message).toMatch(/\/mnt\/disks\/vol-b is gone, but PV local-\w+ is Bound; it is kept/);
    expect(actions[2].type === 'withdraw' && actions[2].message).toMatch(/vol-d is no longer usable \(.*is not a mount point/);
  });

  test('a different device at the same entry: Available withdrawn (republished next pass), bound reported', () => {
    const old = dir('vol1', '7:1');
    const now = dir('vol1', '7:9');
    expect(summary(planDiscovery(input([now], [published(old, 'Available')])))).toEqual([`withdraw:${localPvName('node-a', 'local-fs', 'vol1')}:VolumeIdentityChanged`]);
    const bound = planDiscovery(input([now], [published(old, 'Bound', { claimRef: { name: 'c', namespace: 'n' } })]));
    expect(summary(bound)).toEqual([`report:${localPvName('node-a', 'local-fs', 'vol1')}:VolumeIdentityChanged`]);
  });

  test('a PV whose path does not match its class is reported, never withdrawn', () => {
    const e = dir('vol1');
    const pv = published(e, 'Available', { local: { path: '/etc' } });
    expect(summary(planDiscovery(input([], [pv])))).toEqual([`report:${pv.metadata?.name}:VolumeRecordInvalid`]);
  });

  test('PVs of other classes and PVs being deleted are not touched', () => {
    const e = dir('vol1');
    const other = published(e, 'Available', { storageClassName: 'other' });
    const deleting = { ...published(dir('vol2'), 'Available'), metadata: { ...published(dir('vol2')).metadata, deletionTimestamp: new Date() } };
    expect(planDiscovery(input([], [other, deleting]))).toEqual([]);
  });

  test('a path already used by another PV of this node is not published twice', () => {
    const actions = planDiscovery({ ...input([dir('vol1')]), pathsInUse: new Map([['/mnt/disks/vol1', 'legacy-pv']]) });
    expect(summary(actions)).toEqual(['skip:vol1:DuplicatePath']);
  });

  test('Block class: devices published as Block, directories refused, unknown size refused', () => {
    const disk: ScannedEntry = { name: 'disk1', kind: 'block', path: '/discovery-blocks/disk1', identity: { devno: '7:4' }, capacityBytes: 4096n };
    const sizeless: ScannedEntry = { name: 'disk2', kind: 'block', path: '/discovery-blocks/disk2', identity: { devno: '7:5' } };
    const actions = planDiscovery(input([disk, sizeless, dir('folder')], [], ['folder'], blockClass));
    expect(summary(actions)).toEqual(['create:disk1:', 'skip:disk2:UnknownCapacity', 'skip:folder:VolumeModeMismatch']);
    expect(actions[0].type === 'create' && actions[0].pv.spec?.volumeMode).toBe('Block');
  });

  test('a device in a Filesystem class is published in Filesystem mode (the kubelet formats it)', () => {
    const disk: ScannedEntry = { name: 'vol-dev', kind: 'block', path: '/discovery/vol-dev', identity: { devno: '7:4' }, capacityBytes: 4096n };
    const [action] = planDiscovery(input([disk], [], []));
    expect(action.type === 'create' && action.pv.spec?.volumeMode).toBe('Filesystem');
  });

  test('names with control characters are refused', () => {
    expect(summary(planDiscovery(input([dir('vol\nx')])))).toEqual(['skip:vol\nx:UnsafeEntryName']);
  });
});

describe('planCleanup', () => {
  const config = { classes: [fsClass, blockClass] };
  const released = (name: string, extra: Partial<V1PersistentVolume['spec']> = {}) => published(dir(name), 'Released', { claimRef: { name: 'c', namespace: 'n' }, ...extra });

  test('Released + Delete is cleaned; Retain is kept silently; Available and Bound are not touched', () => {
    const decisions = planCleanup([
      released('vol1'),
      released('vol2', { persistentVolumeReclaimPolicy: 'Retain' }),
      published(dir('vol3'), 'Available'),
      published(dir('vol4'), 'Bound'),
    ], config);
    expect(decisions.map(d => `${d.type}:${d.pv.spec?.local?.path}`)).toEqual(['clean:/mnt/disks/vol1']);
    expect(decisions[0].type === 'clean' && decisions[0].entry).toBe('vol1');
  });

  test('refusals: Recycle, a class no longer configured, a crafted path, a PV being deleted', () => {
    const deleting = released('vol5');
    deleting.metadata = { ...deleting.metadata, deletionTimestamp: new Date() };
    const decisions = planCleanup([
      released('vol1', { persistentVolumeReclaimPolicy: 'Recycle' }),
      released('vol2', { storageClassName: 'gone' }),
      released('vol3', { local: { path: '/mnt/disks/../../etc' } }),
      deleting,
    ], config);
    expect(decisions.map(d => d.type === 'report' && d.reason)).toEqual([
      'VolumeUnsupportedReclaimPolicy', 'StorageClassNotConfigured', 'VolumeRecordInvalid',
    ]);
  });
});

describe('planNodeCleanup', () => {
  test('PVs of deleted nodes: Available deleted, in use or Released reported, live nodes untouched', () => {
    const available = published(dir('vol1'), 'Available');
    const bound = published(dir('vol2'), 'Bound', { claimRef: { name: 'data', namespace: 'app' } });
    const rel = published(dir('vol3'), 'Released', { claimRef: { name: 'old', namespace: 'app' } });
    const foreign: V1PersistentVolume = { metadata: { name: 'not-ours', annotations: { 'cdk8s-storage.dev/local-node-name': 'node-a' } }, status: { phase: 'Available' } };
    const gone = planNodeCleanup([available, bound, rel, foreign], new Set(['node-b']));
    expect(gone.map(a => `${a.type}:${a.pv.metadata?.name}`)).toEqual([
      `delete:${available.metadata?.name}`, `report:${bound.metadata?.name}`, `report:${rel.metadata?.name}`,
    ]);
    expect(gone[1].type === 'report' && gone[1].message).toMatch(/node node-a .*Bound, app\/data\) was deleted/);
    expect(gone[2].type === 'report' && gone[2].message).toMatch(/If the node comes back, its agent wipes and republishes it/);
    expect(planNodeCleanup([available, bound], new Set(['node-a']))).toEqual([]);
  });
});
