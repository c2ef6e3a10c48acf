import { Testing } from 'cdk8s';
import { NfsInClusterServerChart } from '../../../examples/nfs-in-cluster-server/main';
import { all, named, one, synthValid } from '../../util/synth';

describe('example nfs-in-cluster-server', () => {
  const objs = synthValid(new NfsInClusterServerChart(Testing.app(), 'nfs-in-cluster-server'));

  test('the server: one pod on a 200Gi fast-ssd claim, preallocated loop images, behind a pinned IP', () => {
    const sts = one(objs, 'StatefulSet');
    expect(sts.metadata.namespace).toBe('nfs-server');
    expect(sts.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'fast-ssd', resources: { requests: { storage: '200Gi' } } });
    const args: string[] = sts.spec.template.spec.containers[0].args;
    expect(args).toEqual(expect.arrayContaining(['nfs-server', '--quota=loop-image', '--preallocate=true', '--provisioner-name=storage.example.com/nfs-server']));
    const service = one(objs.filter((o) => o.kind === 'Service' && o.spec.clusterIP !== 'None'), 'Service');
    expect(service.spec.clusterIP).toBe('10.96.0.50');
    expect(args).toContain(`--service-name=${service.metadata.name}`);
    expect(all(objs, 'Deployment').map((d) => d.metadata.name)).toEqual(['builder']);
  });

  test('the default class archives, caps claims at 100Gi and mounts for a server that restarts', () => {
    const sc = one(objs, 'StorageClass');
    expect(sc.metadata.name).toBe('nfs-sized');
    expect(sc.provisioner).toBe('storage.example.com/nfs-server');
    expect(sc.parameters).toMatchObject({ onDelete: 'ARCHIVE', maxVolumeSize: '100Gi' });
    expect(sc.mountOptions).toEqual(['nfsvers=4.1', 'hard', 'noresvport', 'timeo=100', 'retrans=3']);
  });

  test('the build cache is a growable ReadWriteMany claim shared by two builders', () => {
    const claim = one(objs, 'PersistentVolumeClaim');
    expect(claim.metadata).toMatchObject({ name: 'build-cache', namespace: 'ci' });
    expect(claim.spec).toMatchObject({ storageClassName: 'nfs-sized', accessModes: ['ReadWriteMany'], resources: { requests: { storage: '5Gi' } } });
    expect(named(objs, 'Deployment', 'builder').spec.template.spec.volumes).toEqual([{ name: 'cache', persistentVolumeClaim: { claimName: 'build-cache' } }]);
  });
});
