import { Testing } from 'cdk8s';
import { k8s, PersistentVolumeMode, TaintEffect } from 'cdk8s-plus-28';
import { setup } from './helpers';
import { VolumeBindingMode } from '../../../src/constructs/common/storage-class-ref';
import { BlockCleaner, LocalStaticProvisioner, LocalStorageClass, TolerationOperator } from '../../../src/constructs/local';
import { NfsServer } from '../../../src/constructs/nfs';
import { synthValid } from '../../util/synth';

/** Adds a class with the given options to a fresh provisioner. */
function addClass(options: Partial<Parameters<LocalStaticProvisioner['addStorageClass']>[1]>): LocalStorageClass {
  return setup().provisioner.addStorageClass('cls', { hostDir: '/mnt/disks', ...options });
}

describe('LocalStaticProvisioner validation', () => {
  test('throws for a namespace that is not a DNS label', () => {
    expect(() => setup({ namespace: 'Storage_System' }))
      .toThrow(/LocalStaticProvisioner test\/local: namespace "Storage_System" is not a valid namespace name: use lowercase/);
  });

  test('throws for an empty image', () => {
    expect(() => setup({ image: ' ' })).toThrow(/image " " is not an image reference: it contains white space or a control character: give \[registry/);
  });

  test.each([
    ['Registry.example.com/Storage/controller:1', /path component "Storage"/],
    ['registry.example.com/controller:1.2.3@sha256:xyz', /has a digest that is not "sha256:" and 64 lower-case hex digits/],
    ['registry.example.com/controller:+1', /has a tag that is not/],
    ['registry.example.com/', /has an empty path component/],
  ])('throws for the malformed image reference %j, saying what is wrong', (image, problem) => {
    expect(() => setup({ image })).toThrow(/LocalStaticProvisioner test\/local: image ".*" is not an image reference: it /);
    expect(() => setup({ image })).toThrow(problem);
  });

  test.each(['Gt', 'exists', 'In', 'DoesNotExist'])('throws for the toleration operator %j (Kubernetes knows only Exists and Equal)', (operator) => {
    expect(() => setup({ tolerations: [{ key: 'k', operator: operator as TolerationOperator }] }))
      .toThrow(`LocalStaticProvisioner test/local: tolerations[0].operator "${operator}" is not one Kubernetes knows: use "Exists" or "Equal" (TolerationOperator.EXISTS or EQUAL)`);
  });

  test('throws for a toleration effect Kubernetes does not know', () => {
    expect(() => setup({ tolerations: [{ key: 'k', operator: TolerationOperator.EXISTS, effect: 'NoRun' as TaintEffect }] }))
      .toThrow(/effect "NoRun" is not a taint effect/);
  });

  test('throws for a toleration value that is not a label value', () => {
    expect(() => setup({ tolerations: [{ key: 'k', value: 'a b' }] })).toThrow(/value "a b" is not a valid label value/);
  });

  test.each([NaN, Infinity, -1, 1.5])('throws for tolerationSeconds %p, naming the value', (tolerationSeconds) => {
    expect(() => setup({ tolerations: [{ key: 'k', operator: TolerationOperator.EXISTS, effect: TaintEffect.NO_EXECUTE, tolerationSeconds }] }))
      .toThrow(`tolerations[0].tolerationSeconds ${tolerationSeconds} is not a whole number of seconds >= 0: use e.g. 300`);
  });

  test('a hostile nodeSelector key is quoted with control characters escaped and cut', () => {
    expect(() => setup({ nodeSelector: { [`bad\n${'k'.repeat(200)}`]: 'x' } }))
      .toThrow(`nodeSelector key "bad\\n${'k'.repeat(96)}..." is not a valid label key`);
  });

  test('throws for an invalid nodeSelector key', () => {
    expect(() => setup({ nodeSelector: { 'bad key': 'x' } })).toThrow(/nodeSelector key "bad key" is not a valid label key/);
  });

  test('throws for an invalid nodeSelector value', () => {
    expect(() => setup({ nodeSelector: { disks: 'a/b' } })).toThrow(/nodeSelector\["disks"\] "a\/b" is not a valid label value/);
  });

  test('throws for a toleration without key whose operator is not EXISTS', () => {
    expect(() => setup({ tolerations: [{ value: 'x' }] }))
      .toThrow(/tolerations\[0\]\.operator "Equal" needs a key .*: add a key or set operator: TolerationOperator\.EXISTS/);
  });

  test('throws for a toleration with a value and operator EXISTS', () => {
    expect(() => setup({ tolerations: [{ key: 'k', operator: TolerationOperator.EXISTS, value: 'v' }] }))
      .toThrow(/tolerations\[0\]\.value "v" is set with operator EXISTS, which matches any value: remove value/);
  });

  test('throws for tolerationSeconds without effect NO_EXECUTE', () => {
    expect(() => setup({ tolerations: [{ key: 'k', value: 'v', effect: TaintEffect.NO_SCHEDULE, tolerationSeconds: 10 }] }))
      .toThrow(/tolerations\[0\]\.tolerationSeconds 10 applies only to effect NO_EXECUTE: remove it/);
  });

  test('throws for a toleration key that is not a label key', () => {
    expect(() => setup({ tolerations: [{ key: '-bad-', value: 'v' }] })).toThrow(/key "-bad-" is not a valid label key/);
  });
});

describe('LocalStorageClass validation', () => {
  test('throws for a name that is not a DNS subdomain', () => {
    expect(() => addClass({ name: 'Fast_SSD' }))
      .toThrow(/LocalStorageClass test\/local\/cls: name "Fast_SSD" is not a valid StorageClass name: use lowercase/);
  });

  test('throws for a relative hostDir', () => {
    expect(() => addClass({ hostDir: 'mnt/disks' })).toThrow(/hostDir "mnt\/disks" is relative: write it as an absolute path, e.g. "\/mnt\/disks"/);
  });

  test('throws for a hostDir with ".."', () => {
    expect(() => addClass({ hostDir: '/mnt/disks/../etc' })).toThrow(/hostDir "\/mnt\/disks\/\.\.\/etc" has "\.", "\.\." or "\/\/" in it: write the plain path "\/mnt\/etc"/);
  });

  test('drops trailing slashes from hostDir and mountDir, the rule of the NFS export path too', () => {
    const cls = addClass({ hostDir: '/mnt/disks/', mountDir: '/discovery//' });
    expect(cls.hostDir).toBe('/mnt/disks');
    expect(cls.mountDir).toBe('/discovery');
    expect(NfsServer.external({ host: 'nas', path: '/mnt/disks/' }).path).toBe(cls.hostDir);
  });

  test('refuses "//" inside hostDir and the NFS path with the same words', () => {
    const words = 'has ".", ".." or "//" in it: write the plain path "/mnt/disks"';
    expect(() => addClass({ hostDir: '/mnt//disks' })).toThrow(`hostDir "/mnt//disks" ${words}`);
    expect(() => NfsServer.external({ host: 'nas', path: '/mnt//disks' })).toThrow(`path "/mnt//disks" ${words}`);
  });

  test('throws for a system directory as hostDir', () => {
    expect(() => addClass({ hostDir: '/var/lib/kubelet' })).toThrow(/hostDir "\/var\/lib\/kubelet" is a system directory/);
    expect(() => addClass({ hostDir: '/' })).toThrow(/hostDir "\/" is a system directory/);
  });

  test.each([
    ['/sys/block', '/sys'], ['/proc/1/root', '/proc'], ['/dev/disk/by-id', '/dev'], ['/run/disks', '/run'], ['/var/run/disks', '/var/run'],
    ['/etc/disks', '/etc'], ['/boot/efi', '/boot'], ['/var/lib/kubelet/pods', '/var/lib/kubelet'], ['/home', '/home'], ['/home/x', '/home'],
    ['/home/user/disks', '/home'],
  ])('throws for a hostDir inside a system tree: %s', (hostDir, tree) => {
    expect(() => addClass({ hostDir }))
      .toThrow(`LocalStorageClass test/local/cls: hostDir "${hostDir}" is inside the system tree ${tree}, whose mount points the agent would publish and wipe: `
        + 'use a directory that holds only the volumes, e.g. "/mnt/disks/ssd"');
  });

  test.each(['/homestead', '/devices/ssd', '/etcetera', '/var/lib/kubelet-disks', '/mnt/home', '/srv/run'])('a hostDir that only shares a prefix with a system tree is fine: %s', (hostDir) => {
    expect(() => addClass({ hostDir })).not.toThrow();
  });

  test.each(['/mnt/disks\u0001', '/mnt/\u001b[2Jdisks', '/mnt/disks\u007f', '/mnt/dis\tks'])('throws for a hostDir with a control character: %j', (hostDir) => {
    expect(() => addClass({ hostDir })).toThrow(/hostDir ".*(\\u00(01|1b|7f)|\\t)[^"]*" contains a control character/);
  });

  test('throws for a relative mountDir', () => {
    expect(() => addClass({ mountDir: 'disks' })).toThrow(/mountDir "disks" is relative/);
  });

  test('throws for a mountDir over the agent\'s config directory', () => {
    expect(() => addClass({ mountDir: '/etc/cdk8s-storage/disks' })).toThrow(/mountDir "\/etc\/cdk8s-storage\/disks" overlaps \/etc\/cdk8s-storage/);
  });

  test('throws for a hostDir used twice in one provisioner', () => {
    const { provisioner } = setup();
    provisioner.addStorageClass('a', { hostDir: '/mnt/disks' });
    expect(() => provisioner.addStorageClass('b', { hostDir: '/mnt/disks' }))
      .toThrow(/LocalStorageClass test\/local\/b: hostDir "\/mnt\/disks" is also the hostDir of LocalStorageClass test\/local\/a/);
  });

  test('throws for a hostDir used by another provisioner in the app', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('a', { hostDir: '/mnt/disks' });
    const other = new LocalStaticProvisioner(chart, 'other');
    expect(() => other.addStorageClass('b', { hostDir: '/mnt/disks' }))
      .toThrow(/test\/other\/b: hostDir "\/mnt\/disks" is also the hostDir of LocalStorageClass test\/local\/a/);
  });

  test('accepts one hostDir in two provisioners whose nodeSelectors can never match one node', () => {
    const chart = Testing.chart();
    const a = new LocalStaticProvisioner(chart, 'ssd-nodes', { nodeSelector: { pool: 'ssd' } });
    const b = new LocalStaticProvisioner(chart, 'hdd-nodes', { nodeSelector: { pool: 'hdd' } });
    a.addStorageClass('ssd', { hostDir: '/mnt/disks' });
    b.addStorageClass('hdd', { hostDir: '/mnt/disks' });
    expect(() => synthValid(chart)).not.toThrow();
  });

  test.each([
    ['one provisioner has no nodeSelector', {}, { pool: 'hdd' }],
    ['the selectors have no key in common', { pool: 'ssd' }, { zone: 'a' }],
    ['the selectors agree on their common key', { pool: 'ssd' }, { pool: 'ssd', zone: 'a' }],
  ])('refuses one hostDir in two provisioners that can share a node: %s', (_why, first, second) => {
    const chart = Testing.chart();
    new LocalStaticProvisioner(chart, 'a', { nodeSelector: first }).addStorageClass('x', { hostDir: '/mnt/disks' });
    expect(() => new LocalStaticProvisioner(chart, 'b', { nodeSelector: second }).addStorageClass('y', { hostDir: '/mnt/disks' }))
      .toThrow(/test\/b\/y: hostDir "\/mnt\/disks" is also the hostDir of LocalStorageClass test\/a\/x .*or run the two provisioners on disjoint nodes/);
  });

  test('throws for a hostDir nested in another class\'s', () => {
    const { provisioner } = setup();
    provisioner.addStorageClass('a', { hostDir: '/mnt/disks' });
    expect(() => provisioner.addStorageClass('b', { hostDir: '/mnt/disks/ssd' }))
      .toThrow(/hostDir "\/mnt\/disks\/ssd" overlaps the hostDir of LocalStorageClass test\/local\/a \("\/mnt\/disks"\)/);
  });

  test('does not confuse a sibling directory with a nested one', () => {
    const { provisioner } = setup();
    provisioner.addStorageClass('a', { hostDir: '/mnt/disks' });
    expect(() => provisioner.addStorageClass('b', { hostDir: '/mnt/disks-other' })).not.toThrow();
  });

  test('throws for two classes of one provisioner with the same mountDir', () => {
    const { provisioner } = setup();
    provisioner.addStorageClass('a', { hostDir: '/mnt/a', mountDir: '/discovery' });
    expect(() => provisioner.addStorageClass('b', { hostDir: '/mnt/b', mountDir: '/discovery' }))
      .toThrow(/mountDir "\/discovery" overlaps the mountDir of LocalStorageClass test\/local\/a/);
  });

  test('throws for a duplicate class name in one provisioner', () => {
    const { provisioner } = setup();
    provisioner.addStorageClass('a', { name: 'local', hostDir: '/mnt/a' });
    expect(() => provisioner.addStorageClass('b', { name: 'local', hostDir: '/mnt/b' }))
      .toThrow(/test\/local\/b: name "local" is already used by LocalStorageClass test\/local\/a/);
  });

  test('throws for a duplicate class name across provisioners', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('a', { name: 'local', hostDir: '/mnt/a' });
    const other = new LocalStaticProvisioner(chart, 'other');
    expect(() => other.addStorageClass('b', { name: 'local', hostDir: '/mnt/b' })).toThrow(/name "local" is already used/);
  });

  test('throws for a class name already used by another StorageClass object in the app', () => {
    const { chart, provisioner } = setup();
    new k8s.KubeStorageClass(chart, 'existing', { metadata: { name: 'standard' }, provisioner: 'example.com/x' });
    expect(() => provisioner.addStorageClass('a', { name: 'standard', hostDir: '/mnt/a' }))
      .toThrow(/name "standard" is already used by the StorageClass at test\/existing/);
  });

  test('a StorageClass of the same name added later fails the synth', () => {
    const { chart, provisioner } = setup();
    provisioner.addStorageClass('a', { name: 'standard', hostDir: '/mnt/a' });
    new k8s.KubeStorageClass(chart, 'later', { metadata: { name: 'standard' }, provisioner: 'example.com/x' });
    expect(() => Testing.synth(chart)).toThrow(/LocalStorageClass test\/local\/a: name "standard" is already used by the StorageClass at test\/later/);
  });

  test('throws for a blockCleaner on a Filesystem class', () => {
    expect(() => addClass({ blockCleaner: BlockCleaner.zero() }))
      .toThrow(/blockCleaner "ZERO" is set on a Filesystem class .*: remove blockCleaner or set volumeMode: PersistentVolumeMode\.BLOCK/);
  });

  test.each([0, 11, 2.5, -1])('throws for shred passes %p', (passes) => {
    expect(() => BlockCleaner.shred(passes)).toThrow(`BlockCleaner.shred(): passes ${passes} is out of range: use a whole number from 1 to 10`);
  });

  test.each([NaN, Infinity, -Infinity])('throws for passes %p, naming the value', (passes) => {
    expect(() => BlockCleaner.shred(passes)).toThrow(`BlockCleaner.shred(): passes ${passes} is out of range: use a whole number from 1 to 10`);
    expect(() => BlockCleaner.zero(passes)).toThrow(`BlockCleaner.zero(): passes ${passes} is out of range: use a whole number from 1 to 10`);
  });

  test.each([0, 11, 1.5])('throws for zero passes %p', (passes) => {
    expect(() => BlockCleaner.zero(passes)).toThrow(`BlockCleaner.zero(): passes ${passes} is out of range: use a whole number from 1 to 10`);
  });

  test('throws for a namePattern with "/"', () => {
    expect(() => addClass({ namePattern: 'by-id/nvme*' })).toThrow(/namePattern "by-id\/nvme\*" contains '\/' \(it matches one entry name/);
  });

  test.each(['disk[0-9]', 'a,b', '{a,b}', '!x'])('throws for a namePattern with unsupported glob syntax: %s', (pattern) => {
    expect(() => addClass({ namePattern: pattern })).toThrow(/namePattern ".*" contains ".*", which is not supported: use a single glob where only \* and \? are wildcards/);
  });

  test('throws for an empty namePattern', () => {
    expect(() => addClass({ namePattern: '' })).toThrow(/namePattern "" is not 1-255 characters long/);
  });

  test('throws for Immediate binding, explaining why local volumes wait for the first consumer', () => {
    expect(() => addClass({ volumeBindingMode: VolumeBindingMode.IMMEDIATE }))
      .toThrow(/volumeBindingMode "Immediate" is not possible for local volumes \(claims would be bound before their pods are scheduled\): .*set VolumeBindingMode\.WAIT_FOR_FIRST_CONSUMER/);
  });

  test.each([['volumeMode', 'Raw'], ['reclaimPolicy', 'Recycle']])('throws for the %s %j, which local classes do not have', (prop, value) => {
    expect(() => addClass({ [prop]: value })).toThrow(new RegExp(`LocalStorageClass test/local/cls: ${prop} "${value}" is not a`));
  });

  test('throws for fsType on a Block class', () => {
    expect(() => addClass({ volumeMode: PersistentVolumeMode.BLOCK, fsType: 'ext4' })).toThrow(/fsType "ext4" is set on a Block class/);
  });

  test('throws for an fsType that is not a filesystem name', () => {
    expect(() => addClass({ fsType: 'ext4 -o rw' })).toThrow(/fsType "ext4 -o rw" is not a filesystem type name: use e\.g\. "ext4"/);
  });

  test('throws for mountOptions on a Block class', () => {
    expect(() => addClass({ volumeMode: PersistentVolumeMode.BLOCK, mountOptions: ['noatime'] })).toThrow(/mountOptions \["noatime"\] is set on a Block class, whose devices are never mounted: remove mountOptions/);
  });

  test('throws for a mount option holding several options', () => {
    expect(() => addClass({ mountOptions: ['noatime,nodiratime'] })).toThrow(/mountOptions "noatime,nodiratime" is not a single mount option: give one option per entry/);
  });
});
