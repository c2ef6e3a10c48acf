import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { LocalClassConfig } from '../../../src/contract/controller-config';
import { planCleanup } from '../../../src/runtime/local/cleanup';
import { DiscoveryAction, DiscoveryInput, planDiscovery } from '../../../src/runtime/local/discovery';
import { planNodeCleanup } from '../../../src/runtime/local/node-cleanup';
import { buildLocalPv, isOwnedBy, LocalAgentIdentity, localProvisionerIdentity, localPvName } from '../../../src/runtime/local/pv';
import type { ScannedEntry } from '../../../src/runtime/local/scan';

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

function dir(name: string, devno = '7:1', capacityBytes = 1000n, mountRoot = '/'): ScannedEntry {
  return { name, kind: 'dir', path: `/discovery/${name}`, identity: { devno, stableId: `loop:/${name}.img` }, capacityBytes, mountRoot };
}

/** A bind mount of directory `root` of one shared disk. */
function bindMount(name: string, root: string): ScannedEntry {
  return { ...dir(name), identity: { devno: '7:7', stableId: 'loop:/shared.img' }, mountRoot: root };
}

/** The PV as published before mount roots were recorded. */
function withoutMountRoot(pv: V1PersistentVolume): V1PersistentVolume {
  const { 'cdk8s-storage.dev/local-mount-root': _root, ...annotations } = pv.metadata?.annotations ?? {};
  return { ...pv, metadata: { ...pv.metadata, annotations } };
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

  test('bind mounts of one disk swapped (same device, another directory): Available withdrawn, bound reported', () => {
    const a = published(bindMount('vol-a', '/vols/a'), 'Available');
    const b = published(bindMount('vol-b', '/vols/b'), 'Bound', { claimRef: { name: 'c', namespace: 'n' } });
    expect(a.metadata?.annotations?.['cdk8s-storage.dev/local-mount-root']).toBe('/vols/a');
    expect(planDiscovery(input([bindMount('vol-a', '/vols/a'), bindMount('vol-b', '/vols/b')], [a, b]))).toEqual([]);

    const swapped = planDiscovery(input([bindMount('vol-a', '/vols/b'), bindMount('vol-b', '/vols/a')], [a, b]));
    expect(summary(swapped)).toEqual([`withdraw:${a.metadata?.name}:VolumeIdentityChanged`, `report:${b.metadata?.name}:VolumeIdentityChanged`]);
    expect(swapped[0].type === 'withdraw' && swapped[0].message).toMatch(/vol-a is a different volume than PV local-\w+ was published for \(mount root recorded \/vols\/a; found \/vols\/b\)/);
    expect(swapped[1].type === 'report' && swapped[1].message).toMatch(/the PV is Bound and kept\. Put the original device \(or bind mount\) back/);
  });

  test('a PV published without its mount root: Available withdrawn (republished with it), in use kept; Block PVs have none', () => {
    const available = withoutMountRoot(published(bindMount('vol-a', '/vols/a'), 'Available'));
    const inUse = withoutMountRoot(published(bindMount('vol-b', '/vols/b'), 'Bound', { claimRef: { name: 'c', namespace: 'n' } }));
    const actions = planDiscovery(input([bindMount('vol-a', '/vols/a'), bindMount('vol-b', '/vols/b')], [available, inUse]));
    expect(summary(actions)).toEqual([`withdraw:${available.metadata?.name}:VolumeWithdrawn`]);
    expect(actions[0].type === 'withdraw' && actions[0].message).toMatch(/published without its mount root .*it is republished with it/);
    // The next pass publishes it again, this time with its root.
    const [republish] = planDiscovery(input([bindMount('vol-a', '/vols/a')]));
    expect(republish.type === 'create' && republish.pv.metadata?.annotations?.['cdk8s-storage.dev/local-mount-root']).toBe('/vols/a');

    const disk: ScannedEntry = { name: 'disk1', kind: 'block', path: '/discovery-blocks/disk1', identity: { devno: '7:4' }, capacityBytes: 4096n };
    const blockPv = published(disk, 'Available', {}, blockClass);
    expect(blockPv.metadata?.annotations?.['cdk8s-storage.dev/local-mount-root']).toBeUndefined();
    expect(planDiscovery(input([disk], [blockPv], [], blockClass))).toEqual([]);
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

describe('two LocalStaticProvisioners on one node', () => {
  const fast: LocalAgentIdentity = { nodeName: 'node-a', provisioner: 'storage/fast-disks', classes: new Set(['local-fs']) };
  const raw: LocalAgentIdentity = { nodeName: 'node-a', provisioner: 'storage/raw-disks', classes: new Set(['local-block']) };
  const disk: ScannedEntry = { name: 'disk1', kind: 'block', path: '/discovery-blocks/disk1', identity: { devno: '7:4' }, capacityBytes: 4096n };
  const asReleased = (pv: V1PersistentVolume): V1PersistentVolume => ({ ...pv, spec: { ...pv.spec, claimRef: { name: 'c', namespace: 'n' } }, status: { phase: 'Released' } });
  const fastPv = asReleased(buildLocalPv(fsClass, node, dir('vol1'), fast.provisioner));
  const rawPv = asReleased(buildLocalPv(blockClass, node, disk, raw.provisioner));

  test('each agent has its own identity, derived from its provisioner\'s namespace and name, and owns only its PVs', () => {
    expect(fastPv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe('cdk8s-storage.dev/local-agent.storage.fast-disks.node-a');
    expect(localProvisionerIdentity('node-a', 'storage/raw-disks')).toBe('cdk8s-storage.dev/local-agent.storage.raw-disks.node-a');
    expect([isOwnedBy(fastPv, fast), isOwnedBy(fastPv, raw), isOwnedBy(rawPv, fast), isOwnedBy(rawPv, raw)]).toEqual([true, false, false, true]);
    // The same provisioner's agent on another node does not own them either.
    expect(isOwnedBy(fastPv, { ...fast, nodeName: 'node-b' })).toBe(false);
  });

  test('neither agent calls the other\'s released volume unconfigured or advises wiping it by hand', () => {
    const all = [fastPv, rawPv];
    const fastDecisions = planCleanup(all.filter(pv => isOwnedBy(pv, fast)), { provisioner: fast.provisioner, classes: [fsClass] });
    const rawDecisions = planCleanup(all.filter(pv => isOwnedBy(pv, raw)), { provisioner: raw.provisioner, classes: [blockClass] });
    expect(fastDecisions.map(d => `${d.type}:${d.pv.metadata?.name}`)).toEqual([`clean:${fastPv.metadata?.name}`]);
    expect(rawDecisions.map(d => `${d.type}:${d.pv.metadata?.name}`)).toEqual([`clean:${rawPv.metadata?.name}`]);
    // What one shared identity made of it: the other provisioner's volume, with advice to wipe it by hand.
    const [, advice] = planCleanup(all, { classes: [fsClass] });
    expect(advice).toMatchObject({ type: 'report', pv: rawPv, reason: 'StorageClassNotConfigured', message: expect.stringMatching(/wipe the volume by hand/) });
  });

  test('PVs stamped with the provisioner\'s former DaemonSet-name identity: adopted for the classes it serves, by no other', () => {
    const renamed: LocalAgentIdentity = { ...fast, provisioner: 'storage/fast', formerProvisioner: 'storage/fast-disks' };
    expect(isOwnedBy(fastPv, renamed)).toBe(true);
    expect(isOwnedBy(fastPv, { ...renamed, classes: new Set(['other']) })).toBe(false);
    expect(isOwnedBy(fastPv, { ...raw, formerProvisioner: 'storage/elsewhere' })).toBe(false);
    expect(isOwnedBy(fastPv, { ...renamed, nodeName: 'node-b' })).toBe(false);
  });

  test('PVs of the node-wide identity of earlier versions: adopted by the agent serving their class, by no other', () => {
    const legacyFast = asReleased(buildLocalPv(fsClass, node, dir('vol2')));
    const legacyGone = asReleased(buildLocalPv({ ...fsClass, storageClassName: 'removed' }, node, dir('vol3')));
    expect(legacyFast.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe('cdk8s-storage.dev/local-agent.node-a');
    expect([isOwnedBy(legacyFast, fast), isOwnedBy(legacyFast, raw)]).toEqual([true, false]);
    // A class no provisioner serves any more: neither can tell it was its own, so neither acts or advises.
    expect([isOwnedBy(legacyGone, fast), isOwnedBy(legacyGone, raw)]).toEqual([false, false]);
    // An agent whose class map predates provisioners keeps its old identity and everything it published.
    const old: LocalAgentIdentity = { nodeName: 'node-a', classes: new Set(['local-fs']) };
    expect([isOwnedBy(legacyFast, old), isOwnedBy(legacyGone, old), isOwnedBy(fastPv, old)]).toEqual([true, true, false]);
  });

  test('the node-deletion role still recognizes every agent\'s PVs, and no one else\'s', () => {
    const available = (pv: V1PersistentVolume): V1PersistentVolume => ({ ...pv, spec: { ...pv.spec, claimRef: undefined }, status: { phase: 'Available' } });
    const legacy = available(buildLocalPv(fsClass, node, dir('vol2')));
    const spoofed = available({ ...fastPv, metadata: { ...fastPv.metadata, name: 'spoofed', annotations: { ...fastPv.metadata?.annotations, 'pv.kubernetes.io/provisioned-by': 'example.com/other' } } });
    const actions = planNodeCleanup([available(fastPv), available(rawPv), legacy, spoofed], new Set());
    expect(actions.map(a => `${a.type}:${a.pv.metadata?.name}`)).toEqual([fastPv, rawPv, legacy].map(pv => `delete:${pv.metadata?.name}`));
  });
});
