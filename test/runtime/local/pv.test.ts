import * as fc from 'fast-check';
import type { LocalClassConfig } from '../../../src/contract/controller-config';
import { isDnsSubdomain } from '../../../src/contract/names';
import { identityMismatch, devnoOf } from '../../../src/runtime/local/device';
import { matchesGlob } from '../../../src/runtime/local/glob';
import { buildLocalPv, entryOfPv, labelValue, localPvName, localProvisionerIdentity, readRecord } from '../../../src/runtime/local/pv';

const cls: LocalClassConfig = {
  storageClassName: 'local-fs',
  hostDir: '/mnt/disks',
  mountDir: '/discovery',
  volumeMode: 'Filesystem',
  namePattern: '*',
  reclaimPolicy: 'Delete',
  mountOptions: ['noatime'],
  fsType: 'xfs',
};

describe('PV names and labels', () => {
  test('the PV name is deterministic, a DNS name, and differs by node, class and entry', () => {
    const name = localPvName('node-a', 'local-fs', 'vol1');
    expect(name).toMatch(/^local-[0-9a-f]{16}$/);
    expect(localPvName('node-a', 'local-fs', 'vol1')).toBe(name);
    expect(new Set([name, localPvName('node-b', 'local-fs', 'vol1'), localPvName('node-a', 'other', 'vol1'), localPvName('node-a', 'local-fs', 'vol2')]).size).toBe(4);
    // The separator keeps ("ab", "c") and ("a", "bc") apart.
    expect(localPvName('ab', 'c', 'd')).not.toBe(localPvName('a', 'bc', 'd'));
    fc.assert(fc.property(fc.string(), fc.string(), fc.string(), (n, c, e) => isDnsSubdomain(localPvName(n, c, e))));
  });

  test('label values: valid ones unchanged, others shortened with a hash', () => {
    expect(labelValue('node-a.example.com')).toBe('node-a.example.com');
    const long = `${'n'.repeat(70)}.example.com`;
    const value = labelValue(long);
    expect(value.length).toBeLessThanOrEqual(63);
    expect(value).not.toBe(labelValue(`${'n'.repeat(71)}.example.com`));
    fc.assert(fc.property(fc.string({ maxLength: 300 }), s => /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/.test(labelValue(s))));
  });

  test('the provisioner identity is per provisioner and node (node-wide without a provisioner) and never kubernetes.io/ (which the PV controller would try to delete itself)', () => {
    expect(localProvisionerIdentity('node-a', 'storage/local-disks')).toBe('cdk8s-storage.dev/local-agent.storage.local-disks.node-a');
    expect(localProvisionerIdentity('node-a')).toBe('cdk8s-storage.dev/local-agent.node-a');
    expect(localProvisionerIdentity('node-a', 'kubernetes.io/x').startsWith('kubernetes.io/')).toBe(false);
  });
});

describe('buildLocalPv', () => {
  const node = { name: 'node-a', hostname: 'host-a.internal' };

  test('a filesystem entry: exact capacity, hostDir path, affinity on the hostname label value, record annotations', () => {
    const pv = buildLocalPv(cls, node, {
      name: 'vol1',
      kind: 'dir',
      path: '/discovery/vol1',
      capacityBytes: 8_123_456n,
      identity: { devno: '7:3', stableId: 'loop:/img', diskseq: '42' },
      mountRoot: '/vols/vol1',
    }, 'storage/local-disks');
    expect(pv).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: localPvName('node-a', 'local-fs', 'vol1'),
        labels: { 'cdk8s-storage.dev/node': 'node-a', 'cdk8s-storage.dev/local-class': 'local-fs' },
        annotations: {
          'pv.kubernetes.io/provisioned-by': 'cdk8s-storage.dev/local-agent.storage.local-disks.node-a',
          'cdk8s-storage.dev/local-node-name': 'node-a',
          'cdk8s-storage.dev/local-entry': 'vol1',
          'cdk8s-storage.dev/local-kind': 'filesystem',
          'cdk8s-storage.dev/local-device': '7:3',
          'cdk8s-storage.dev/local-device-id': 'loop:/img',
          'cdk8s-storage.dev/local-device-seq': '42',
          'cdk8s-storage.dev/local-mount-root': '/vols/vol1',
        },
      },
      spec: {
        capacity: { storage: '8123456' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'local-fs',
        volumeMode: 'Filesystem',
        mountOptions: ['noatime'],
        local: { path: '/mnt/disks/vol1' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['host-a.internal'] }] }] } },
      },
    });
    expect(readRecord(pv)).toEqual({ nodeName: 'node-a', entry: 'vol1', kind: 'filesystem', identity: { devno: '7:3', stableId: 'loop:/img', diskseq: '42' }, mountRoot: '/vols/vol1' });
  });

  test('a block entry in a Block class: Block mode, fsType recorded, no mount options', () => {
    const pv = buildLocalPv({ ...cls, volumeMode: 'Block' }, node, { name: 'disk1', kind: 'block', path: '/discovery/disk1', capacityBytes: 1024n, identity: { devno: '8:16', stableId: 'wwid:naa.1' } });
    expect(pv.spec?.volumeMode).toBe('Block');
    expect(pv.spec?.mountOptions).toBeUndefined();
    expect(pv.spec?.local).toEqual({ path: '/mnt/disks/disk1', fsType: 'xfs' });
    expect(pv.metadata?.annotations?.['cdk8s-storage.dev/local-kind']).toBe('block');
    expect(pv.metadata?.annotations?.['cdk8s-storage.dev/local-device-seq']).toBeUndefined();
    expect(pv.metadata?.annotations?.['cdk8s-storage.dev/local-mount-root']).toBeUndefined();
  });

  test('entryOfPv trusts only hostDir/<recorded entry>', () => {
    const pv = buildLocalPv(cls, node, { name: 'vol1', kind: 'dir', path: '/discovery/vol1', capacityBytes: 1n, identity: { devno: '7:3' } });
    expect(entryOfPv(pv, cls)).toBe('vol1');
    const withPath = (p: string) => ({ ...pv, spec: { ...pv.spec, local: { path: p } } });
    expect(entryOfPv(withPath('/mnt/disks/../etc'), cls)).toBeUndefined();
    expect(entryOfPv(withPath('/mnt/disks/vol1/sub'), cls)).toBeUndefined();
    expect(entryOfPv(withPath('/mnt/disks-other/vol1'), cls)).toBeUndefined();
    expect(entryOfPv(withPath('/mnt/disks/vol2'), cls)).toBeUndefined(); // disagrees with the recorded entry
    const edited = { ...pv, metadata: { ...pv.metadata, annotations: { ...pv.metadata?.annotations, 'cdk8s-storage.dev/local-kind': 'other' } } };
    expect(entryOfPv(edited, cls)).toBeUndefined();
  });
});

describe('device identity', () => {
  test('devnoOf splits dev_t like glibc', () => {
    expect(devnoOf(0x0700n)).toBe('7:0');
    expect(devnoOf(0x0811n)).toBe('8:17');
    // major 259 (NVMe), minor 300 as glibc's makedev lays them out: 259 << 8 | 300 & 0xff | (300 & ~0xff) << 12.
    expect(devnoOf(0x11032cn)).toBe('259:300');
    // A major above 4095 keeps its high bits above bit 32, apart from the minor's.
    expect(devnoOf(0x1000_0000_0005n)).toBe('4096:5');
  });

  test('a hardware id decides alone (a reboot may renumber the disk)', () => {
    expect(identityMismatch({ devno: '8:16', stableId: 'wwid:naa.1' }, { devno: '8:32', stableId: 'wwid:naa.1', diskseq: '9' })).toBeUndefined();
    expect(identityMismatch({ devno: '8:16', stableId: 'wwid:naa.1' }, { devno: '8:16', stableId: 'wwid:naa.2' })).toMatch(/recorded 8:16, wwid:naa.1; found 8:16, wwid:naa.2/);
  });

  test('without one, devno, weak id and disk sequence must all match', () => {
    const loop = { devno: '7:0', stableId: 'loop:/a.img', diskseq: '5' };
    expect(identityMismatch(loop, { ...loop })).toBeUndefined();
    expect(identityMismatch(loop, { ...loop, devno: '7:1' })).toBeDefined();
    expect(identityMismatch(loop, { ...loop, stableId: 'loop:/b.img' })).toBeDefined();
    expect(identityMismatch(loop, { ...loop, diskseq: '6' })).toMatch(/diskseq 5.*diskseq 6/);
    expect(identityMismatch({ devno: '252:0' }, { devno: '252:0', diskseq: '3' })).toBeUndefined();
  });
});

describe('namePattern globs', () => {
  test.each<[string, string, boolean]>([
    ['*', 'anything', true], ['*', '.hidden', true], ['disk-*', 'disk-1', true], ['disk-*', 'disk', false],
    ['vol?', 'vol1', true], ['vol?', 'vol12', false], ['a.b', 'aXb', false], ['a.b', 'a.b', true],
    ['[ab]*', '[ab]x', true], ['[ab]*', 'ax', false], ['(x)+', '(x)+', true], ['*', '', true],
  ])('%s vs %s', (pattern, name, expected) => {
    expect(matchesGlob(pattern, name)).toBe(expected);
  });
});
