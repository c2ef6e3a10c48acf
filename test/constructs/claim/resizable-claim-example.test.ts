import { App, Testing } from 'cdk8s';
import { AnalyticsChart, PlatformChart } from '../../../examples/resizable-claim/main';
import { all, CLUSTER_SCOPED, named, one, synthValid } from '../../util/synth';

describe('example resizable-claim', () => {
  const app = Testing.app();
  const platform = new PlatformChart(app, 'platform');
  const analytics = new AnalyticsChart(app as App, 'analytics', { storageClass: platform.storageClass });
  const platformObjs = synthValid(platform);
  const analyticsObjs = synthValid(analytics);

  test('the platform chart caps the class at 500Gi', () => {
    const sc = one(platformObjs, 'StorageClass');
    expect(sc.metadata.name).toBe('nfs-growable');
    expect(sc.parameters.maxVolumeSize).toBe('500Gi');
    expect(sc.provisioner).toBe('platform.example.com/nfs');
  });

  test('the reports claim grows by itself, the archive claim does not', () => {
    const reports = named(analyticsObjs, 'PersistentVolumeClaim', 'reports');
    const archive = named(analyticsObjs, 'PersistentVolumeClaim', 'archive');
    expect(reports.metadata.annotations).toEqual({
      'cdk8s-storage.dev/auto-grow-threshold-percent': '80',
      'cdk8s-storage.dev/auto-grow-increment': '10Gi',
      'cdk8s-storage.dev/auto-grow-max': '200Gi',
    });
    expect(archive.metadata.annotations).toBeUndefined();
    for (const claim of all(analyticsObjs, 'PersistentVolumeClaim')) {
      expect(claim.metadata.namespace).toBe('analytics');
      expect(claim.spec.storageClassName).toBe('nfs-growable');
      expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
    }
  });

  test('the job mounts the growing claim', () => {
    const job = one(analyticsObjs, 'CronJob');
    expect(job.spec.jobTemplate.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe('reports');
  });

  test('cluster-scoped objects carry no namespace, even from the namespaced chart', () => {
    for (const obj of [...platformObjs, ...analyticsObjs].filter((o) => CLUSTER_SCOPED.has(o.kind))) {
      expect(obj.metadata.namespace).toBeUndefined();
    }
    expect(analyticsObjs.filter((o) => !CLUSTER_SCOPED.has(o.kind)).every((o) => o.metadata.namespace === 'analytics')).toBe(true);
  });
});
