import { ApiObject, App, Chart, Size, Testing } from 'cdk8s';
import { PersistentVolumeAccessMode, PersistentVolumeMode, PersistentVolumeReclaimPolicy } from 'cdk8s-plus-28';
import { NfsProvisioner, NfsServer, NfsStorageClass, NfsStorageClassOptions, OnDelete, VolumeBindingMode } from '../../../src';
import { DEFAULT_PATH_PATTERN } from '../../../src/contract/path-template';
import { one, synthValid } from '../../util/synth';

function setup(options: NfsStorageClassOptions = {}, chart: Chart = Testing.chart()) {
  const provisioner = new NfsProvisioner(chart, 'nfs', {
    server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }),
    provisionerName: 'example.com/nfs',
  });
  const sc = provisioner.addStorageClass('class', options);
  return { chart, provisioner, sc };
}

function storageClass(options: NfsStorageClassOptions = {}): any {
  return one(synthValid(setup(options).chart), 'StorageClass');
}

describe('NfsStorageClass defaults', () => {
  const { chart, sc } = setup();
  const obj = one(synthValid(chart), 'StorageClass');

  test('manifest', () => {
    expect(obj).toEqual({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: sc.name },
      provisioner: 'example.com/nfs',
      parameters: {
        pathPattern: '${.PVC.namespace}-${.PVC.name}-${.PV.name}',
        onDelete: 'ARCHIVE',
        directoryMode: '0777',
      },
      reclaimPolicy: 'Delete',
      allowVolumeExpansion: true,
      volumeBindingMode: 'Immediate',
      mountOptions: ['nfsvers=4.1', 'hard'],
    });
  });

  test('resolved props', () => {
    expect(sc.name).toBe('class');
    expect(sc.provisionerName).toBe('example.com/nfs');
    expect(sc.pathPattern).toBe(DEFAULT_PATH_PATTERN);
    expect(sc.onDelete).toBe(OnDelete.ARCHIVE);
    expect(sc.directoryMode).toBe('0777');
    expect(sc.reclaimPolicy).toBe(PersistentVolumeReclaimPolicy.DELETE);
    expect(sc.allowVolumeExpansion).toBe(true);
    expect(sc.volumeBindingMode).toBe(VolumeBindingMode.IMMEDIATE);
    expect(sc.defaultClass).toBe(false);
    expect(sc.maxVolumeSize).toBeUndefined();
    expect(sc.mountOptions).toEqual(['nfsvers=4.1', 'hard']);
  });

  test('what a claim reads from it: ReadWriteMany filesystems', () => {
    expect(sc.defaultAccessModes).toEqual([PersistentVolumeAccessMode.READ_WRITE_MANY]);
    expect(sc.defaultVolumeMode).toBe(PersistentVolumeMode.FILE_SYSTEM);
  });

  test('mountOptions is a copy', () => {
    sc.mountOptions.push('soft');
    expect(sc.mountOptions).toEqual(['nfsvers=4.1', 'hard']);
  });

  test('the StorageClass is the default child (escape hatch)', () => {
    expect(ApiObject.of(sc).kind).toBe('StorageClass');
  });
});

describe('NfsStorageClass options', () => {
  test('name', () => {
    expect(storageClass({ name: 'nfs-data' }).metadata.name).toBe('nfs-data');
  });

  test('pathPattern', () => {
    expect(storageClass({ pathPattern: '${.PVC.namespace}/${.PVC.annotations.example.com/dir}' }).parameters.pathPattern)
      .toBe('${.PVC.namespace}/${.PVC.annotations.example.com/dir}');
  });

  test.each([OnDelete.DELETE, OnDelete.RETAIN, OnDelete.ARCHIVE])('onDelete %s', (onDelete) => {
    expect(storageClass({ onDelete }).parameters.onDelete).toBe(onDelete);
  });

  test.each([['0770', '0770'], ['770', '0770'], ['2775', '2775'], ['02775', '2775'], ['0700', '0700']])('directoryMode %s -> %s', (mode, written) => {
    expect(storageClass({ directoryMode: mode }).parameters.directoryMode).toBe(written);
  });

  test('maxVolumeSize is written as an exact quantity', () => {
    expect(storageClass({ maxVolumeSize: Size.gibibytes(1.5) }).parameters.maxVolumeSize).toBe('1536Mi');
    expect(storageClass({ maxVolumeSize: Size.tebibytes(2) }).parameters.maxVolumeSize).toBe('2Ti');
    const { sc } = setup({ maxVolumeSize: Size.gibibytes(100) });
    expect(sc.maxVolumeSize?.toGibibytes()).toBe(100);
  });

  test('reclaimPolicy RETAIN', () => {
    expect(storageClass({ reclaimPolicy: PersistentVolumeReclaimPolicy.RETAIN }).reclaimPolicy).toBe('Retain');
  });

  test('mountOptions', () => {
    expect(storageClass({ mountOptions: ['nfsvers=4.2', 'proto=tcp', 'timeo=600'] }).mountOptions).toEqual(['nfsvers=4.2', 'proto=tcp', 'timeo=600']);
  });

  test('no mountOptions at all', () => {
    expect(storageClass({ mountOptions: [] }).mountOptions).toBeUndefined();
  });

  test('allowVolumeExpansion false', () => {
    expect(storageClass({ allowVolumeExpansion: false }).allowVolumeExpansion).toBe(false);
  });

  test('volumeBindingMode WAIT_FOR_FIRST_CONSUMER', () => {
    expect(storageClass({ volumeBindingMode: VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER }).volumeBindingMode).toBe('WaitForFirstConsumer');
  });

  test('defaultClass sets the annotation', () => {
    expect(storageClass({ defaultClass: true }).metadata.annotations).toEqual({ 'storageclass.kubernetes.io/is-default-class': 'true' });
    expect(storageClass({ defaultClass: false }).metadata.annotations).toBeUndefined();
  });

  test('standalone, with a provisioner from another chart', () => {
    const app = Testing.app();
    const infra = new Chart(app, 'infra');
    const provisioner = new NfsProvisioner(infra, 'nfs', { server: NfsServer.external({ host: 'nas', path: '/k8s' }), provisionerName: 'example.com/nfs' });
    const apps = new Chart(app, 'apps', { namespace: 'team-a' });
    const sc = new NfsStorageClass(apps, 'class', { provisioner, name: 'team-a-nfs' });
    const obj = one(synthValid(apps), 'StorageClass');
    expect(obj.provisioner).toBe('example.com/nfs');
    expect(sc.name).toBe('team-a-nfs');
    // Cluster-scoped: the chart's namespace is not written.
    expect(obj.metadata.namespace).toBeUndefined();
  });

  test('standalone, with any provisioner name', () => {
    const chart = Testing.chart();
    new NfsStorageClass(chart, 'class', { provisioner: { provisionerName: 'example.com/nfs-elsewhere' }, name: 'nfs' });
    expect(one(synthValid(chart), 'StorageClass').provisioner).toBe('example.com/nfs-elsewhere');
  });

  test('snapshot of a fully configured class', () => {
    expect(storageClass({
      name: 'nfs-archive',
      pathPattern: '${.PVC.namespace}/${.PVC.name}',
      onDelete: OnDelete.RETAIN,
      directoryMode: '2770',
      maxVolumeSize: Size.tebibytes(1),
      reclaimPolicy: PersistentVolumeReclaimPolicy.DELETE,
      mountOptions: ['nfsvers=4.2'],
      allowVolumeExpansion: true,
      volumeBindingMode: VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER,
      defaultClass: true,
    })).toMatchSnapshot();
  });
});

describe('NfsStorageClass validation', () => {
  test('throws without a provisioner', () => {
    expect(() => new NfsStorageClass(Testing.chart(), 'class', {} as any)).toThrow(/provisioner \(not set\) is missing: pass the NfsProvisioner/);
  });

  test.each(['NFS', 'nfs_data', '-nfs', 'nfs.', 'x'.repeat(254)])('throws for the name %j', (name) => {
    expect(() => setup({ name })).toThrow(/name .* is not a valid StorageClass name: use lowercase letters/);
  });

  test('throws for an unknown pathPattern variable', () => {
    expect(() => setup({ pathPattern: '${.PVC.namespace}/${.PVC.uid}' }))
      .toThrow(/NfsStorageClass test\/nfs\/class: pathPattern is invalid: .*unknown variable "\$\{\.PVC\.uid\}": known variables are/);
  });

  test('throws for an absolute pathPattern', () => {
    expect(() => setup({ pathPattern: '/${.PVC.namespace}' })).toThrow(/pathPattern is invalid: .*is absolute/);
  });

  test('throws for a pathPattern with ".."', () => {
    expect(() => setup({ pathPattern: '${.PVC.namespace}/../x' })).toThrow(/pathPattern is invalid: .*may not walk up/);
  });

  test('throws for an unbalanced pathPattern', () => {
    expect(() => setup({ pathPattern: '${.PVC.namespace' })).toThrow(/pathPattern is invalid: .*without its closing/);
  });

  test('throws for an empty pathPattern', () => {
    expect(() => setup({ pathPattern: '' })).toThrow(/pathPattern is invalid: pathPattern is empty/);
  });

  test.each(['${.PVC.name}', '${.PVC.namespace}-${.PVC.name}', '${.PVC.namespace}${.PVC.name}', '${.PVC.namespace}-${.PVC.labels.app}'])(
    'throws for a pathPattern that lets two namespaces share a directory: %s', (pathPattern) => {
      expect(() => setup({ pathPattern })).toThrow(/pathPattern is invalid: .*lets claims of two namespaces render one directory.*: make \$\{\.PVC\.namespace\} a directory level of its own/);
    });

  test.each(['archived-${.PV.name}', 'archived-${.PVC.namespace}/${.PVC.name}', '.cdk8s-storage-unfinished/${.PV.name}'])(
    'throws for a pathPattern whose first level is reserved for the controller: %s', (pathPattern) => {
      expect(() => setup({ pathPattern })).toThrow(/pathPattern is invalid: pathPattern ".*" begins with ".*", which starts with "(archived-|\.cdk8s-storage-)".*: choose another first level/);
    });

  test('throws for a pathPattern no claim could ever fit in (a level over 255 bytes with the shortest values)', () => {
    expect(() => setup({ pathPattern: `${'x'.repeat(216)}\${.PV.name}` }))
      .toThrow(/pathPattern is invalid: .*of at least 256 bytes even with the shortest values; the limit is 255, so no claim could ever be provisioned/);
  });

  test('throws for a pathPattern no claim could ever fit in (4096 bytes or more with the shortest values)', () => {
    const pathPattern = ['${.PVC.namespace}', ...Array.from({ length: 17 }, () => 'y'.repeat(250))].join('/');
    expect(() => setup({ pathPattern })).toThrow(/pathPattern is invalid: .*renders at least 4268 bytes even with the shortest values/);
  });

  test('throws for a provisioner whose name is in a domain Kubernetes reserves', () => {
    expect(() => new NfsStorageClass(Testing.chart(), 'class', { provisioner: { provisionerName: 'kubernetes.io/nfs' } }))
      .toThrow(/NfsStorageClass test\/class: provisioner.provisionerName "kubernetes.io\/nfs" is in the kubernetes.io domain, which Kubernetes reserves for itself: .*use a provisioner whose name is in a domain you own/);
  });

  test('the NFS class offers Filesystem volumes only', () => {
    expect(setup().sc.volumeModes).toEqual([PersistentVolumeMode.FILE_SYSTEM]);
  });

  test('throws for a NaN or infinite maxVolumeSize, naming it', () => {
    expect(() => setup({ maxVolumeSize: Size.gibibytes(NaN) })).toThrow(/NfsStorageClass test\/nfs\/class: maxVolumeSize "NaNGi" is not a usable size: .*give a finite size/);
    expect(() => setup({ maxVolumeSize: Size.gibibytes(Infinity) })).toThrow(/maxVolumeSize "InfinityGi" is not a usable size/);
  });

  test('throws for an unknown onDelete', () => {
    expect(() => setup({ onDelete: 'delete' as OnDelete })).toThrow(/onDelete "delete" is not an OnDelete value: use OnDelete.DELETE/);
  });

  test.each(['0888', 'rwxrwxrwx', '0o777', '7777777', '12345', '', ' 777', '0x1ff'])('throws for the directoryMode %j', (mode) => {
    expect(() => setup({ directoryMode: mode })).toThrow(/directoryMode .* is not an octal mode: write it as octal digits/);
  });

  test.each([NaN, Infinity, 511])('throws for a directoryMode given as the number %p, naming it', (mode) => {
    expect(() => setup({ directoryMode: mode as unknown as string })).toThrow(`directoryMode ${mode} is not an octal mode: write it as octal digits in a string`);
  });

  test('throws for a directoryMode the controller could not work in', () => {
    expect(() => setup({ directoryMode: '0555' })).toThrow(/directoryMode "0555" does not give the owner read, write and search/);
  });

  test('throws for a zero maxVolumeSize', () => {
    expect(() => setup({ maxVolumeSize: Size.gibibytes(0) })).toThrow(/maxVolumeSize "0Gi" is zero: give a positive size/);
  });

  test('throws for an unknown reclaimPolicy', () => {
    expect(() => setup({ reclaimPolicy: 'Recycle' as PersistentVolumeReclaimPolicy })).toThrow(/reclaimPolicy "Recycle" is not a PersistentVolumeReclaimPolicy value/);
  });

  test('throws for an unknown volumeBindingMode', () => {
    expect(() => setup({ volumeBindingMode: 'Later' as VolumeBindingMode })).toThrow(/volumeBindingMode "Later" is not a VolumeBindingMode value/);
  });

  test.each(['nfsvers=4.1,hard', 'hard soft', '', '-o hard'])('throws for the mount option %j', (option) => {
    expect(() => setup({ mountOptions: [option] })).toThrow(/mountOptions .* is not a single mount option: give one option per entry/);
  });

  test('throws for duplicate mount options', () => {
    expect(() => setup({ mountOptions: ['hard', 'hard'] })).toThrow(/mountOptions \["hard","hard"\] has duplicates/);
  });

  test('throws for two classes with one name in an app', () => {
    const app = new App();
    const { provisioner } = setup({ name: 'nfs' }, new Chart(app, 'a'));
    const other = new Chart(app, 'b');
    expect(() => new NfsStorageClass(other, 'class', { provisioner, name: 'nfs' }))
      .toThrow(/NfsStorageClass b\/class: name "nfs" is already used by the StorageClass at a\/nfs\/class\/Resource: give each StorageClass in the app its own name/);
  });

  test('throws for a name already used by any StorageClass in the app', () => {
    const chart = Testing.chart();
    new ApiObject(chart, 'raw', { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'standard' } });
    expect(() => setup({ name: 'standard' }, chart)).toThrow(/name "standard" is already used by the StorageClass at test\/raw/);
  });

  test('a StorageClass of the same name added later fails the synth', () => {
    const chart = Testing.chart();
    setup({ name: 'standard' }, chart);
    new ApiObject(chart, 'raw', { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'standard' } });
    expect(() => Testing.synth(chart)).toThrow(/NfsStorageClass test\/nfs\/class: name "standard" is already used by the StorageClass at test\/raw/);
  });

  test('a default StorageClass added later fails the synth of a default class', () => {
    const chart = Testing.chart();
    setup({ name: 'a', defaultClass: true }, chart);
    new ApiObject(chart, 'raw', {
      apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'b', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    });
    expect(() => Testing.synth(chart)).toThrow(/defaultClass true but the StorageClass at test\/raw is already the default/);
  });

  test('throws for two default classes in an app', () => {
    const chart = Testing.chart();
    const { provisioner } = setup({ name: 'a', defaultClass: true }, chart);
    expect(() => provisioner.addStorageClass('b', { name: 'b', defaultClass: true }))
      .toThrow(/defaultClass true but the StorageClass at test\/nfs\/class\/Resource is already the default: mark only one StorageClass as the default/);
  });
});

describe('NfsStorageClass reclaimPolicy and onDelete', () => {
  test('refuses onDelete with reclaimPolicy Retain, explaining why and what to do', () => {
    expect(() => setup({ reclaimPolicy: PersistentVolumeReclaimPolicy.RETAIN, onDelete: OnDelete.DELETE }))
      .toThrow('NfsStorageClass test/nfs/class: onDelete "DELETE" is set with reclaimPolicy Retain, under which Kubernetes never deletes a volume, '
        + 'so it would never apply: remove onDelete (the directory stays with the Released volume), or use reclaimPolicy Delete with onDelete OnDelete.RETAIN');
  });

  test('accepts reclaimPolicy Retain alone, and onDelete with Delete', () => {
    expect(storageClass({ reclaimPolicy: PersistentVolumeReclaimPolicy.RETAIN }).reclaimPolicy).toBe('Retain');
    expect(storageClass({ onDelete: OnDelete.RETAIN }).parameters.onDelete).toBe('RETAIN');
  });
});
