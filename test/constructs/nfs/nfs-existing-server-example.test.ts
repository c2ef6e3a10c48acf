import { Testing } from 'cdk8s';
import { NfsExistingServerChart } from '../../../examples/nfs-existing-server/main';
import { all, CLUSTER_SCOPED, named, one, synthValid } from '../../util/synth';

describe('example nfs-existing-server', () => {
  const objs = synthValid(new NfsExistingServerChart(Testing.app(), 'nfs-existing-server'));

  test('two classes of one provisioner; nfs is the default and archives, nfs-scratch deletes and is capped', () => {
    const classes = all(objs, 'StorageClass');
    expect(classes.map((c) => [c.metadata.name, c.provisioner, c.parameters.onDelete, c.parameters.maxVolumeSize])).toEqual([
      ['nfs', 'storage.example.com/nfs', 'ARCHIVE', undefined],
      ['nfs-scratch', 'storage.example.com/nfs', 'DELETE', '50Gi'],
    ]);
    expect(classes[0].metadata.annotations).toEqual({ 'storageclass.kubernetes.io/is-default-class': 'true' });
    expect(classes[0].parameters.directoryMode).toBe('2777');
  });

  test('the controller runs in its own namespace with the export mounted', () => {
    const controller = all(objs, 'Deployment').find((d) => d.metadata.namespace === 'nfs-storage');
    expect(controller.spec.template.spec.volumes).toContainEqual({ name: 'nfs-root', nfs: { server: '10.0.0.5', path: '/exports/k8s' } });
    expect(all(objs, 'Namespace').map((n) => n.metadata.name).sort()).toEqual(['nfs-storage', 'web']);
  });

  test('the web app shares one ReadWriteMany claim', () => {
    const claim = one(objs, 'PersistentVolumeClaim');
    expect(claim.metadata).toEqual({ name: 'web-uploads', namespace: 'web' });
    expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
    const web = named(objs, 'Deployment', 'web');
    expect(web.spec.template.spec.volumes).toEqual([{ name: 'uploads', persistentVolumeClaim: { claimName: 'web-uploads' } }]);
  });

  test('cluster-scoped objects carry no namespace', () => {
    for (const obj of objs.filter((o) => CLUSTER_SCOPED.has(o.kind))) {
      expect(obj.metadata.namespace).toBeUndefined();
    }
  });
});
