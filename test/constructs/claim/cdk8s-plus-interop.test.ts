import { Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  LocalStaticProvisioner, NfsProvisioner, NfsServer, ResizableClaim, StorageClassRef,
} from '../../../src';
import { named, one, synthValid } from '../../util/synth';

function nfsClaim(chart: Chart): ResizableClaim {
  const nfs = new NfsProvisioner(chart, 'nfs', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports/k8s' }) });
  return new ResizableClaim(chart, 'data', {
    storageClass: nfs.addStorageClass('shared'),
    storage: Size.gibibytes(10),
    accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_MANY],
  });
}

describe('ResizableClaim with cdk8s-plus', () => {
  test('mounts in a cdk8s-plus Deployment through Volume.fromPersistentVolumeClaim', () => {
    const chart = Testing.chart();
    const claim = nfsClaim(chart);
    const web = new kplus.Deployment(chart, 'web', {
      containers: [{
        image: 'nginx:1.27',
        volumeMounts: [{ path: '/data', volume: kplus.Volume.fromPersistentVolumeClaim(chart, 'volume', claim) }],
      }],
    });
    const pod = named(synthValid(chart), 'Deployment', web.name).spec.template.spec;
    expect(pod.volumes).toEqual([{ name: 'pvc-data', persistentVolumeClaim: { claimName: 'data', readOnly: false } }]);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'pvc-data', mountPath: '/data' }]);
  });

  test('is an IPersistentVolumeClaim and an API resource (for RBAC grants)', () => {
    const claim: kplus.IPersistentVolumeClaim = nfsClaim(Testing.chart());
    expect([claim.name, claim.apiVersion, claim.kind, claim.apiGroup, claim.resourceType, claim.resourceName])
      .toEqual(['data', 'v1', 'PersistentVolumeClaim', '', 'persistentvolumeclaims', 'data']);
  });

  test('takes the cdk8s-plus enums for access and volume modes', () => {
    const chart = Testing.chart();
    const ref = StorageClassRef.fromName('ceph-block', { allowVolumeExpansion: true });
    new ResizableClaim(chart, 'raw', {
      storageClass: ref,
      storage: Size.gibibytes(1),
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE_POD],
      volumeMode: kplus.PersistentVolumeMode.BLOCK,
    });
    expect(one(synthValid(chart), 'PersistentVolumeClaim').spec).toMatchObject({ accessModes: ['ReadWriteOncePod'], volumeMode: 'Block' });
  });
});

describe('StorageClassRef.fromName', () => {
  test('a class outside the app: name, expansion and maximum as stated, defaults for the rest', () => {
    const ref = StorageClassRef.fromName('gp3', { allowVolumeExpansion: true, maxVolumeSize: Size.gibibytes(100) });
    expect(ref.name).toBe('gp3');
    expect(ref.defaultAccessModes).toEqual([kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE]);
    expect(ref.defaultVolumeMode).toBe(kplus.PersistentVolumeMode.FILE_SYSTEM);
    const chart = Testing.chart();
    new ResizableClaim(chart, 'data', { storageClass: ref, storage: Size.gibibytes(10) });
    expect(one(synthValid(chart), 'PersistentVolumeClaim').spec.storageClassName).toBe('gp3');
    expect(() => new ResizableClaim(chart, 'big', { storageClass: ref, storage: Size.gibibytes(200) }))
      .toThrow('ResizableClaim test/big: storage "200Gi" is larger than the maxVolumeSize of class gp3 (100Gi): request less, or raise the class limit');
  });

  test('a class without expansion: a fixed-size claim, autoGrow refused', () => {
    const ref = StorageClassRef.fromName('standard', { allowVolumeExpansion: false });
    const chart = Testing.chart();
    new ResizableClaim(chart, 'data', { storageClass: ref, storage: Size.gibibytes(10) });
    expect(() => new ResizableClaim(chart, 'grown', {
      storageClass: ref, storage: Size.gibibytes(10), autoGrow: { thresholdPercent: 80, increment: Size.gibibytes(1), max: Size.gibibytes(20) },
    })).toThrow(/autoGrow .* is set, but class standard does not allow volume expansion/);
  });

  test('refuses a name that is no StorageClass name, and a missing allowVolumeExpansion', () => {
    expect(() => StorageClassRef.fromName('Fast SSD', { allowVolumeExpansion: true }))
      .toThrow(/^StorageClassRef.fromName: name "Fast SSD" is not a valid StorageClass name: give the class's metadata.name/);
    expect(() => StorageClassRef.fromName('fast', {} as any))
      .toThrow('StorageClassRef.fromName: allowVolumeExpansion (not set) is not set: say whether the class has allowVolumeExpansion: true');
  });
});

describe('ResizableClaim of a local class', () => {
  function localClass() {
    const chart = Testing.chart();
    const local = new LocalStaticProvisioner(chart, 'local');
    return { chart, cls: local.addStorageClass('ssd', { hostDir: '/mnt/disks/ssd' }) };
  }

  test('the same typed path: ReadWriteOnce, the class name, no expansion', () => {
    const { chart, cls } = localClass();
    const claim = new ResizableClaim(chart, 'cache', { storageClass: cls, storage: Size.gibibytes(100) });
    const pvc = one(synthValid(chart), 'PersistentVolumeClaim');
    expect(pvc.spec).toEqual({
      storageClassName: 'ssd', accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem', resources: { requests: { storage: '100Gi' } },
    });
    expect(claim.accessModes).toEqual([kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE]);
  });

  test('refuses autoGrow, naming the prop and the fix', () => {
    const { chart, cls } = localClass();
    expect(() => new ResizableClaim(chart, 'cache', {
      storageClass: cls, storage: Size.gibibytes(100), autoGrow: { thresholdPercent: 80, increment: Size.gibibytes(10), max: Size.gibibytes(200) },
    })).toThrow(/^ResizableClaim test\/cache: autoGrow .* is set, but class ssd does not allow volume expansion \(local volumes never grow\): remove autoGrow/);
  });
});
